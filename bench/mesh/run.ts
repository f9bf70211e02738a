// The mesh benchmarks: the mesh client over NATS against Moleculer over NATS, the mesh client over
// HTTP/2 against grpc-js -> grpc-js, and every mesh feature on against off, each pair measured in the
// same run, interleaved, medians of N runs. Servers are pinned to core 0, clients to core 1 (taskset),
// as in bench/run.ts; the NATS server is the shared one (NATS_URL, default nats://127.0.0.1:4222).
//
//   node bench/mesh/run.ts [--runs 3] [--duration 5] [--warmup 6] [--pairs 16] [--concurrency 64] [--only a,b]
//
// The verdicts come from a paired measurement of each target (both sides warm, one-second slices
// alternating between them); the table's medians come from the interleaved runs.
//
// Writes bench/mesh/results/<timestamp>.json and latest.md; prints the table.

import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { SERVER_V8_FLAGS } from "../../mesh/host/index.ts";
import { probeCores } from "../lib/core-probe.ts";
import { measurePaired, type PairedMeasurement } from "../lib/paired-slices.ts";
import { slowRunFilter, type RunProbes } from "../lib/results.ts";
import { clientSide, type ProcessSide } from "../lib/slice-sides.ts";

interface Scenario {
  readonly id: string;
  readonly what: string;
  readonly server: readonly string[];
  readonly client: readonly string[];
}

interface Target {
  readonly name: string;
  readonly subject: string;
  readonly peer: string;
  readonly goal: number;
}

const { values } = readCommandLine({
  usage: "npm run bench:mesh -- [flags]   (node bench/mesh/run.ts)",
  summary: "Mesh client over NATS vs Moleculer, over HTTP/2 vs grpc-js and vs Weft's bare transport, every mesh feature on vs off.\nWrites bench/mesh/results/<timestamp>.json and latest.md.",
  flags: {
    runs: { type: "string", valueName: "N", defaultText: "3", description: "runs per scenario, interleaved" },
    duration: { type: "string", valueName: "S", defaultText: "5", description: "measured seconds per run" },
    warmup: { type: "string", valueName: "S", defaultText: "6", description: "shortest uncounted warm-up before each run, in seconds; then until the calls/s stop rising" },
    "max-warmup": { type: "string", valueName: "S", defaultText: "30", description: "longest warm-up, in seconds (equal to --warmup for a fixed warm-up)" },
    concurrency: { type: "string", valueName: "N", defaultText: "64", description: "calls in flight per client" },
    only: { type: "string", valueName: "a,b", defaultText: "all", description: "only these scenario ids" },
    pairs: { type: "string", valueName: "N", defaultText: "16", description: "one-second slice pairs per target, both sides warm, load alternating (the verdicts); 0 = judge on the ratio of medians" },
  },
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS of both meshes" }],
});
const runs = numberSetting("--runs", values.runs, 3, { min: 1, integer: true });
const durationMs = numberSetting("--duration", values.duration, 5, { min: 0.001 }) * 1000;
const warmupMs = numberSetting("--warmup", values.warmup, 6, { min: 0 }) * 1000;
const maxWarmupMs = numberSetting("--max-warmup", values["max-warmup"], 30, { min: 0 }) * 1000;
const concurrency = numberSetting("--concurrency", values.concurrency, 64, { min: 1, integer: true });
const pairs = numberSetting("--pairs", values.pairs, 16, { min: 0, integer: true });
const root = new URL("../../", import.meta.url).pathname;
const run = randomUUID().slice(0, 8);

function mesh(transport: "grpc" | "nats", features: "on" | "off"): Pick<Scenario, "server" | "client"> {
  const prefix = `weft.bench${run}${transport}${features}`;
  return {
    server: ["bench/mesh/mesh-server.ts", "--features", features, "--prefix", prefix],
    client: ["bench/mesh/mesh-client.ts", "--transport", transport, "--features", features, "--prefix", prefix],
  };
}

const ALL: Scenario[] = [
  { id: "nats/moleculer", what: "Moleculer broker -> broker over NATS", server: ["bench/mesh/moleculer-service.ts", "--namespace", `b${run}`], client: ["bench/mesh/moleculer-client.ts", "--namespace", `b${run}`] },
  { id: "nats/mesh", what: "mesh client -> Weft, Connect over NATS, all features on", ...mesh("nats", "on") },
  { id: "nats/mesh-off", what: "mesh client -> Weft, Connect over NATS, features off", ...mesh("nats", "off") },
  { id: "h2/grpc-js", what: "grpc-js client -> grpc-js server", server: ["bench/servers/grpc-js.ts", "--mode", "h2"], client: ["bench/clients/grpc-js.ts"] },
  { id: "h2/mesh", what: "mesh client -> Weft host, gRPC over HTTP/2, all features on", ...mesh("grpc", "on") },
  { id: "h2/mesh-off", what: "mesh client -> Weft host, gRPC over HTTP/2, features off", ...mesh("grpc", "off") },
  // The same server under Weft's bare gRPC transport (no mesh client): what the mesh layer costs, in this run.
  { id: "h2/weft-bare", what: "Weft's bare gRPC transport (createWeftGrpcTransport, no mesh client) -> Weft host", server: mesh("grpc", "off").server, client: ["bench/clients/weft.ts"] },
];
const TARGETS: Target[] = [
  { name: "mesh over NATS vs Moleculer over NATS", subject: "nats/mesh", peer: "nats/moleculer", goal: 1.2 },
  { name: "mesh over HTTP/2 vs grpc-js -> grpc-js", subject: "h2/mesh", peer: "h2/grpc-js", goal: 1.5 },
  { name: "features on vs off (NATS)", subject: "nats/mesh", peer: "nats/mesh-off", goal: 0.9 },
  { name: "features on vs off (HTTP/2)", subject: "h2/mesh", peer: "h2/mesh-off", goal: 0.9 },
  { name: "mesh client (features on) vs bare Weft transport, HTTP/2", subject: "h2/mesh", peer: "h2/weft-bare", goal: 0.85 },
];
const only = values.only?.split(",").map((s) => s.trim());
const scenarios = ALL.filter((s) => only === undefined || only.some((o) => s.id === o || s.id.startsWith(`${o}/`)));

// Every process, peers and Weft alike, runs with the V8 settings Weft's host applies to itself
// (mesh/host/gc-tuning.ts), so that no side is judged with a GC setting the other does not get.
function child(core: number, script: readonly string[], extra: readonly string[]): ChildProcess {
  return spawn("taskset", ["-c", String(core), process.execPath, ...SERVER_V8_FLAGS, ...script, ...extra], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
}

function firstJsonLine(proc: ChildProcess, accept: (o: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("no answer in time")), timeoutMs);
    proc.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const o = JSON.parse(line) as Record<string, unknown>;
          if (accept(o)) {
            clearTimeout(timer);
            resolve(o);
          }
        } catch {
          // not a protocol line
        }
      }
    });
    proc.on("exit", (code) => reject(new Error(`exited with ${code}`)));
  });
}

/** CPU seconds used so far by a process (utime + stime from /proc), or NaN. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * The pid of the NATS server the scenarios use (the process listening on NATS_URL's port, as `ss` shows
 * it: scripts/dev-services.sh starts nats-server with a config file, so its command line names no port).
 */
function natsServerPid(): number | undefined {
  const port = new URL(process.env.NATS_URL ?? "nats://127.0.0.1:4222").port || "4222";
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  }
}
const natsPid = natsServerPid();

interface Measurement {
  /** CPU share of the server process over the measured window (1.0 = one core). */
  readonly serverCpu: number;
  /** CPU share of the NATS server over the window (shared with anything else using it). */
  readonly natsCpu: number;
  readonly callsPerSec: number;
  readonly failed: number;
  readonly clientCpu: number;
  readonly detail: string;
  readonly serverDetail: string;
  /** Client CPU µs per call (from the client) and server CPU µs per call (from /proc). */
  readonly clientUsPerCall: number;
  readonly serverUsPerCall: number;
  readonly warmupMs: number;
  readonly steady: boolean | undefined;
  readonly gcPer1000Calls: { scavenges: number; scavengeMs: number } | undefined;
  /** The core probe just before and just after the measured window. */
  readonly probe: RunProbes;
}

async function measure(s: Scenario): Promise<Measurement | { error: string }> {
  const server = child(0, s.server, []);
  try {
    const ready = await firstJsonLine(server, (o) => "ready" in o || "unavailable" in o, 20_000);
    if ("unavailable" in ready) return { error: `not available: ${String(ready.unavailable)}` };
    const probeBefore = await probeCores();
    const client = child(1, s.client, ["--port", String(ready.port), "--concurrency", String(concurrency), "--warmup-ms", String(warmupMs), "--max-warmup-ms", String(maxWarmupMs), "--duration-ms", String(durationMs)]);
    let before: [number, number, number] | undefined;
    const result = await firstJsonLine(client, (o) => {
      if (o.phase === "measure") before = [cpuSeconds(server.pid), cpuSeconds(natsPid), performance.now()];
      return "callsPerSec" in o || "unavailable" in o;
    }, Math.max(warmupMs, maxWarmupMs) + durationMs + 30_000);
    const after: [number, number, number] = [cpuSeconds(server.pid), cpuSeconds(natsPid), performance.now()];
    const seconds = before === undefined ? Number.NaN : (after[2] - before[2]) / 1000;
    const serverCpu = before === undefined ? Number.NaN : (after[0] - before[0]) / seconds;
    const natsCpu = before === undefined ? Number.NaN : (after[1] - before[1]) / seconds;
    if ("unavailable" in result) return { error: `not available: ${String(result.unavailable)}` };
    if (Number(result.failed) > 0) return { error: `failed calls: ${result.failed} (${String(result.firstError)})` };
    const probeAfter = await probeCores();
    const callsPerSec = Number(result.callsPerSec);
    return {
      serverCpu, natsCpu, callsPerSec, failed: 0, clientCpu: Number(result.clientCpu), detail: String(result.detail), serverDetail: String(ready.detail ?? ""),
      clientUsPerCall: Number(result.clientUsPerCall), serverUsPerCall: Math.round((serverCpu / callsPerSec) * 1e7) / 10,
      warmupMs: Number(result.warmupMs), steady: result.steady as boolean | undefined,
      gcPer1000Calls: result.gcPer1000Calls as Measurement["gcPer1000Calls"], probe: { before: probeBefore, after: probeAfter },
    };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once("exit", r)));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = new Map<string, Measurement[]>();
const errors = new Map<string, string[]>();
for (let r = 0; r < runs; r++) {
  // Rotate the order each run so no scenario always goes first (warm caches, thermal state).
  const order = scenarios.map((_, i) => scenarios[(i + r) % scenarios.length]);
  for (const s of order) {
    const m = await measure(s);
    if ("error" in m) {
      errors.set(s.id, [...(errors.get(s.id) ?? []), m.error]);
      process.stderr.write(`${s.id} run ${r + 1}: ${m.error}\n`);
    } else {
      results.set(s.id, [...(results.get(s.id) ?? []), m]);
      process.stderr.write(`${s.id} run ${r + 1}: ${Math.round(m.callsPerSec)} calls/s (CPU: client ${m.clientCpu}, server ${m.serverCpu.toFixed(2)}, nats-server ${m.natsCpu.toFixed(2)})\n`);
    }
  }
}

// The verdicts: each target's two servers run at once, both clients stay connected, and the calls
// alternate between them in one-second slices after both warmed up (bench/lib/paired-slices.ts).
async function measureTargetPaired(t: Target): Promise<PairedMeasurement> {
  const servers: ChildProcess[] = [];
  const clients: ProcessSide[] = [];
  const failed = (problem: string): PairedMeasurement => ({ pairRatios: [], sliceMs: 1000, warmupMs: 0, steady: undefined, problems: [problem] });
  try {
    for (const id of [t.subject, t.peer]) {
      const s = ALL.find((x) => x.id === id)!;
      const server = child(0, s.server, []);
      servers.push(server);
      const ready = await firstJsonLine(server, (o) => "ready" in o || "unavailable" in o, 20_000);
      if ("unavailable" in ready) return failed(`${id} not available: ${String(ready.unavailable)}`);
      clients.push(await clientSide({ script: `${root}${s.client[0]}`, args: s.client.slice(1), port: Number(ready.port), serverPid: server.pid!, concurrency, nodeFlags: SERVER_V8_FLAGS }));
    }
    return await measurePaired(clients[0]!, clients[1]!, { sliceMs: 1000, pairs, warmupMs, maxWarmupMs });
  } catch (err) {
    return failed((err as Error).message);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    for (const server of servers) {
      server.kill("SIGTERM");
      await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once("exit", r)));
    }
  }
}

const judgedTargets = TARGETS.filter((t) => scenarios.some((s) => s.id === t.subject) && scenarios.some((s) => s.id === t.peer));
const paired = new Map<string, PairedMeasurement>();
for (const t of pairs > 0 ? judgedTargets : []) {
  const p = await measureTargetPaired(t);
  paired.set(t.name, p);
  process.stderr.write(`paired ${t.name}: ${p.ratio !== undefined ? `${p.ratio.toFixed(3)}x (pairs ${Math.min(...p.pairRatios).toFixed(2)}-${Math.max(...p.pairRatios).toFixed(2)}), ${p.subject?.rate} vs ${p.baseline?.rate} calls/s` : `FAILED: ${p.problems.join("; ")}`}\n`);
}

// Runs whose core probe was more than SLOW_CORE_MARGIN slower than this invocation's fastest were taken
// in a slow spell of a virtual CPU: left out of the medians (unless every run of a scenario was).
const slow = slowRunFilter([...results.values()].flat(), (m) => m.probe);
const isSlow = slow.isSlow;
const counted = (id: string) => slow.counted(results.get(id) ?? []);
const rate = (id: string) => median(counted(id).map((m) => m.callsPerSec));
const fmt = (n: number, digits = 0) => (Number.isNaN(n) ? "n/a" : n.toFixed(digits));
const lines = [
  `# Mesh benchmarks (${new Date().toISOString()})`,
  "",
  `${runs} runs x ${durationMs / 1000} s after a warm-up of at least ${warmupMs / 1000} s that goes on until the calls/s stop rising (at most ${maxWarmupMs / 1000} s), ${concurrency} calls in flight, server on core 0, client on core 1, scenarios interleaved.`,
  slow.note([...results.values()]),
  "",
  "| scenario | what | calls/s (median) | runs (slow core: *) | CPU client / server / nats-server | calls per client CPU-second | CPU µs per call client / server | client GC per 1,000 calls | warm-up |",
  "|---|---|---:|---|---:|---:|---:|---:|---:|",
  ...scenarios.map((s) => {
    const ms = counted(s.id);
    const runsText = (results.get(s.id) ?? []).map((m) => `${Math.round(m.callsPerSec)}${isSlow(m) ? "*" : ""}`).join(", ") + (errors.has(s.id) ? ` (failed: ${errors.get(s.id)!.join("; ")})` : "");
    const perCpu = median(ms.map((m) => m.callsPerSec / Math.max(m.clientCpu, 0.01)));
    const gc = ms.filter((m) => m.gcPer1000Calls !== undefined);
    const gcText = gc.length === 0 ? "n/a" : `${fmt(median(gc.map((m) => m.gcPer1000Calls!.scavenges)), 2)} scavenges, ${fmt(median(gc.map((m) => m.gcPer1000Calls!.scavengeMs)), 2)} ms`;
    const unsteady = ms.filter((m) => m.steady === false).length;
    return `| \`${s.id}\` | ${s.what} | ${fmt(rate(s.id))} | ${runsText} | ${fmt(median(ms.map((m) => m.clientCpu)), 2)} / ${fmt(median(ms.map((m) => m.serverCpu)), 2)} / ${fmt(median(ms.map((m) => m.natsCpu)), 2)} | ${fmt(perCpu)} | ${fmt(median(ms.map((m) => m.clientUsPerCall)), 1)} / ${fmt(median(ms.map((m) => m.serverUsPerCall)), 1)} | ${gcText} | ${fmt(median(ms.map((m) => m.warmupMs)) / 1000, 1)} s${unsteady > 0 ? ` (${unsteady} still rising)` : ""} |`;
  }),
  "",
  pairs > 0
    ? `Verdicts are on the paired measurement: both sides' servers and clients running at once, warmed up together, then ${pairs} pairs of one-second slices with the calls alternating between them (which side goes first alternates); the ratio is the interquartile mean (mean of the middle half) of the pairs' ratios, so a slow spell of a virtual CPU falls on both sides of most pairs. Beside it: the middle half of the pair ratios, the ratio of the table's medians (runs minutes apart), and the client CPU µs per call from the pairs, which moves least with noise.`
    : "Verdicts are on throughput (calls/s medians of this run); the client CPU µs ratio beside them moves least with noise.",
  "",
  "| target | ratio | middle half of pairs | goal | met | calls/s (subject / peer) | ratio of table medians | client CPU µs per call ratio (peer / subject) | warm-up |",
  "|---|---:|---:|---:|---|---:|---:|---:|---:|",
  ...judgedTargets.map((t) => {
    const byMedians = rate(t.subject) / rate(t.peer);
    const us = (id: string) => median(counted(id).map((m) => m.clientUsPerCall));
    const p = paired.get(t.name);
    if (p === undefined) return `| ${t.name} | ${fmt(byMedians, 2)}x | – | ${t.goal}x | ${byMedians >= t.goal ? "yes" : "no"} | – | ${fmt(byMedians, 2)}x | ${fmt(us(t.peer) / us(t.subject), 2)}x | – |`;
    if (p.ratio === undefined) return `| ${t.name} | failed: ${p.problems.join("; ")} | – | ${t.goal}x | no data | – | ${fmt(byMedians, 2)}x | – | – |`;
    const usRatio = (p.baseline?.usPerCall?.load ?? Number.NaN) / (p.subject?.usPerCall?.load ?? Number.NaN);
    const quartiles = p.ratioQuartiles === undefined ? `${p.pairRatios.length} pairs` : `${p.ratioQuartiles[0].toFixed(2)}–${p.ratioQuartiles[1].toFixed(2)} (${p.pairRatios.length} pairs)`;
    return `| ${t.name} | ${p.ratio.toFixed(3)}x | ${quartiles} | ${t.goal}x | ${p.ratio >= t.goal ? "yes" : "no"} | ${p.subject?.rate} / ${p.baseline?.rate} | ${fmt(byMedians, 2)}x | ${fmt(usRatio, 2)}x | ${(p.warmupMs / 1000).toFixed(1)} s${p.steady === false ? " (still rising)" : ""} |`;
  }),
  "",
];
const outDir = new URL("./results/", import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(`${outDir}${stamp}.json`, JSON.stringify({ runs, pairs, durationMs, warmupMs, concurrency, results: Object.fromEntries(results), paired: Object.fromEntries(paired), errors: Object.fromEntries(errors) }, null, 2));
writeFileSync(`${outDir}latest.md`, lines.join("\n"));
process.stdout.write(lines.join("\n") + "\n");
process.exit(errors.size > 0 || [...paired.values()].some((p) => p.ratio === undefined) ? 1 : 0);
