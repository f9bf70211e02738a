// Overload: at twice an instance's capacity, what fits in a bounded wait (100 ms) queues and the excess
// is refused at once (RESOURCE_EXHAUSTED marked `weft-refused: overloaded`), accepted calls keep a
// bounded latency, and memory stays bounded; a closed loop of 64 callers (what autocannon -c 64 does to a
// gateway) keeps the goodput near the capacity measured in the same run. The instance is
// bench/mesh/overload-server.ts: the services' real wiring (mesh/node: Weft host and engine, adaptive
// limit, load shedding), with a UnaryCall that either waits (capacity set by the concurrency limit) or
// spins the CPU (no fixed limit: the adaptive side must find it).
//
// Assertions are relative (refusals against accepted calls, latency against the work a call does) or
// far from what a working server shows, so two busy shared cores do not fail them; the absolute goal
// (refusals' p99 under 10 ms) is measured on pinned cores by `npm run bench:overload`.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createStaticDiscovery } from "../../mesh/discovery/index.ts";
import { REFUSED_HEADER } from "../../mesh/resilience/index.ts";
import { stop } from "./fixtures/processes.ts";

/** CPU per call of the closed-loop instance, in ms: like a gateway call (parse, fan out, merge, encode). */
const CLOSED_LOOP_WORK_MS = 4;

const SERVER = new URL("../../bench/mesh/overload-server.ts", import.meta.url).pathname;

let proc: ChildProcess | undefined;
let mesh: MeshClient | undefined;

afterEach(async () => {
  mesh?.close();
  if (proc !== undefined) await stop(proc);
  proc = undefined;
  mesh = undefined;
});

/** Starts an overload instance and returns a mesh client of it (no retries: every refusal is seen). */
async function start(args: string[]) {
  proc = spawn(process.execPath, [SERVER, "--prefix", `weft.overloadtest${process.pid}`, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("overload instance not ready within 15 s")), 15_000);
    proc!.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = /\{"ready":true,"port":(\d+)/.exec(buffered);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
      // Only the ready line matters; keep the buffer small once stats lines flow.
      if (buffered.length > 4096) buffered = buffered.slice(-1024);
    });
    proc!.on("exit", (code) => reject(new Error(`overload instance exited with ${code}`)));
  });
  mesh = createMeshClient({
    discovery: createStaticDiscovery({ endpoints: { [TestService.typeName]: [`127.0.0.1:${port}`] } }),
    retry: false,
    outlierDetection: false,
  });
  const client = mesh.client(TestService);
  await client.emptyCall({});
  return { client, pid: proc.pid!, port };
}

type Client = Awaited<ReturnType<typeof start>>["client"];

interface Outcome {
  /** Latency of each accepted call and when (ms into the run) it started. */
  readonly accepted: { at: number; ms: number }[];
  readonly refused: number[];
  readonly other: string[];
}

async function call(client: Client, out: Outcome, t0: number, start: number): Promise<void> {
  try {
    await client.unaryCall({}, { timeoutMs: 10_000 });
    out.accepted.push({ at: t0 - start, ms: performance.now() - t0 });
  } catch (e) {
    const err = ConnectError.from(e);
    if (err.code === Code.ResourceExhausted && err.metadata.get(REFUSED_HEADER) === "overloaded") out.refused.push(performance.now() - t0);
    else out.other.push(`${Code[err.code]}: ${err.rawMessage}`);
  }
}

/** Open loop: a call every 1/rate s for `ms` whatever the answers (a slow server cannot slow arrivals). */
async function drive(client: Client, rate: number, ms: number): Promise<Outcome> {
  const out: Outcome = { accepted: [], refused: [], other: [] };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let next = start;
  while (next < start + ms) {
    const now = performance.now();
    for (; next <= now && next < start + ms; next += 1000 / rate) pending.push(call(client, out, now, start));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return out;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}
const p99 = (values: number[]) => percentile(values, 0.99);
const p50 = (values: number[]) => percentile(values, 0.5);
const f = (n: number) => n.toFixed(1);

function report(name: string, o: Outcome, rssBefore: number, rssAfter: number): void {
  const ms = o.accepted.map((a) => a.ms);
  console.log(`overload (${name}): ${o.accepted.length} accepted (p50 ${f(p50(ms))} / p99 ${f(p99(ms))} ms), ` +
    `${o.refused.length} refused (p50 ${f(p50(o.refused))} / p99 ${f(p99(o.refused))} ms), other ${o.other.length}; ` +
    `instance RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB`);
}

describe("load shedding at twice the capacity", () => {
  it("I/O-bound calls: the concurrency limit queues a bounded wait and refuses the excess at once", async () => {
    // 4 concurrent calls of 50 ms: 80 calls/s. Small, so the test measures admission rather than how fast
    // two shared cores run a Connect client.
    const { client, pid } = await start(["--work", "sleep", "--work-ms", "50", "--limit", "4"]);
    const rssBefore = rssMb(pid);
    const o = await drive(client, 160, 3000);
    const rssAfter = rssMb(pid);
    report("sleep 50 ms, limit 4", o, rssBefore, rssAfter);
    const accepted = o.accepted.map((a) => a.ms);
    expect(o.other).toEqual([]);
    expect(o.refused.length).toBeGreaterThan(0.25 * 480);
    expect(accepted.length).toBeGreaterThan(0.25 * 480);
    // Refusals do not queue: they come back in a fraction of the time an accepted call takes.
    expect(p50(o.refused)).toBeLessThan(p50(accepted) / 2);
    expect(p99(o.refused)).toBeLessThan(p99(accepted));
    // Accepted calls wait in the bounded queue at most its 100 ms (maxWaitMs), on top of the 50 ms of work;
    // without a bound they would wait seconds by the end of the run.
    expect(p50(accepted)).toBeLessThan(50 + 100 + 50);
    expect(rssAfter - rssBefore).toBeLessThan(100);
  });

  it("CPU-bound calls: with no fixed limit, the excess is found and refused; what is accepted waits a bounded time", async () => {
    // Each call computes 4 ms: the in-flight count never shows the queue, the event-loop guard must.
    // At most 250 calls/s fit in a core; offering twice that overloads it at least twice over, whatever
    // share of a core the instance gets.
    const workMs = 4;
    const { client, pid } = await start(["--work", "cpu", "--work-ms", String(workMs)]);
    const ceiling = 1000 / workMs;
    const rssBefore = rssMb(pid);
    const runMs = 3000;
    const o = await drive(client, 2 * ceiling, runMs);
    const rssAfter = rssMb(pid);
    report(`cpu ${workMs} ms, offered ${2 * ceiling}/s`, o, rssBefore, rssAfter);
    const calls = (2 * ceiling * runMs) / 1000;
    expect(o.other).toEqual([]);
    expect(o.refused.length).toBeGreaterThan(0.2 * calls);
    // Shedding keeps the goodput: refusals do not crowd out the work (loose: neighbours take CPU too).
    expect(o.accepted.length).toBeGreaterThan(0.2 * ceiling * (runMs / 1000));
    // No queue builds up: calls in the second half are answered as fast as in the first. Without shedding
    // the queue grows by a second every second, so nearly every late call waits a second or more; with it,
    // a few turns. The first quartile, not the median: one stall of the machine (a fresh-clone CI run
    // stalled ~0.5 s in the last second, refusals included) must not pass for a queue.
    const late = o.accepted.filter((a) => a.at > runMs / 2).map((a) => a.ms);
    expect(late.length).toBeGreaterThan(0);
    expect(percentile(late, 0.25)).toBeLessThan(250);
    // A refusal beyond 3 per call served (a loaded machine makes this overload more than 4x) is held
    // 100 ms by the pacer (refusal-pacer.ts): still far from the seconds of a queue.
    expect(p50(o.refused)).toBeLessThan(100 + 250);
    expect(rssAfter - rssBefore).toBeLessThan(100);
  });
});

// autocannon ships no types; only what this test uses is declared.
const autocannon = (await import("autocannon" as string)).default as (options: Record<string, unknown>) => Promise<{
  statusCodeStats: Record<string, { count: number } | undefined>; errors: number; timeouts: number; requests: { total: number };
}>;

/** Answers of a closed loop: 200s served, 429s refused (Connect's RESOURCE_EXHAUSTED), anything else. */
interface LoopCounts { served: number; refused: number; other: number }

/**
 * Closed loop over HTTP/1.1 with autocannon, as `npm run bench:shop` drives the gateway: `connections`
 * callers, each sending again as soon as it is answered, for `seconds`.
 */
async function closedLoop(port: number, connections: number, seconds: number, into: LoopCounts): Promise<void> {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/${TestService.typeName}/UnaryCall`, method: "POST",
    headers: { "content-type": "application/json" }, body: "{}", connections, duration: seconds,
  });
  const served = r.statusCodeStats["200"]?.count ?? 0;
  const refused = r.statusCodeStats["429"]?.count ?? 0;
  into.served += served;
  into.refused += refused;
  into.other += r.requests.total - served - refused + r.errors + r.timeouts;
}

describe("goodput under a closed loop of callers (autocannon -c 64 against a gateway)", () => {
  it("keeps serving near capacity: the excess waits in a bounded queue or is refused, not the capacity", async () => {
    const { port } = await start(["--work", "cpu", "--work-ms", String(CLOSED_LOOP_WORK_MS)]);
    // Capacity in this run: two callers keep the instance busy without overloading it. The phases
    // alternate, so that a neighbour's load on the shared cores weighs on both sides of the ratio.
    const base: LoopCounts = { served: 0, refused: 0, other: 0 };
    const over: LoopCounts = { served: 0, refused: 0, other: 0 };
    for (let round = 0; round < 3; round++) {
      await closedLoop(port, 2, 1.5, base);
      await closedLoop(port, 64, 1.5, over);
    }
    console.log(`overload (closed loop, ${CLOSED_LOOP_WORK_MS} ms CPU per call, 3 x 1.5 s each): 2 callers ${JSON.stringify(base)}, 64 callers ${JSON.stringify(over)}`);
    expect(base.other).toBe(0);
    expect(over.other).toBe(0);
    expect(base.served).toBeGreaterThan(0);
    expect(over.served).toBeGreaterThanOrEqual(0.6 * base.served);
    // The excess is refused (RESOURCE_EXHAUSTED), a few per call served at once and the rest after a
    // 100 ms hold: unpaced, the refused callers came back at once, tens of refusals per call served.
    expect(over.refused).toBeGreaterThan(0);
    expect(over.refused).toBeLessThan(20 * over.served);
  });
});
