// Discovery at scale: N simulated instances of S services announce on a private nats-server while C
// simulated clients, each calling K services, keep their tables. Reports NATS messages per second (the
// server's /varz), the clients' CPU and memory for table upkeep, how long a new instance takes to reach
// every interested client and how long a silent (killed) one takes to be dropped.
// Before measuring, the clients' CPU is read over heartbeat-long windows until it stops falling (their
// table upkeep's JIT; bench/lib/steady-state.ts); both cores' speed is probed around each measured window
// (every process here is unpinned) and a point measured in a slow spell is marked.
// Usage: node bench/discovery/run.ts [--instances 1000,5000] [--seconds 10] [--warmup 3] [--max-warmup 20] [--quick] [--json]
// Needs nats-server on PATH; it starts its own on free ports (never the shared one).

import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { connectNats } from "../../mesh/node/index.ts";
import { createAnnouncer } from "../../mesh/discovery/index.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { describeWarmUp, stoppedFalling, warmUntil } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";

// The warm-up once every table is exact: at least 3 s, then until the clients' CPU per second stops
// falling, at most 20 s (quick: one heartbeat, as a fixed warm-up).
const WARM_UP = { minS: 3, maxS: 20, quickS: 1, until: "the clients' CPU per second stops falling" };

const { values } = readCommandLine({
  usage: "npm run bench:discovery -- [flags]   (node bench/discovery/run.ts)",
  summary: "Discovery at scale: simulated instances and clients on a private nats-server.",
  flags: {
    instances: { type: "string", valueName: "N,N", default: "1000,5000", description: "simulated instance counts, one measurement each" },
    services: { type: "string", valueName: "S", default: "50", description: "services the instances are spread over" },
    clients: { type: "string", valueName: "C", default: "100", description: "simulated clients" },
    calls: { type: "string", valueName: "K", default: "3", description: "services each client calls" },
    seconds: { type: "string", valueName: "S", default: "10", description: "measured seconds per count" },
    "heartbeat-ms": { type: "string", valueName: "MS", default: "1000", description: "the instances' heartbeat interval" },
    processes: { type: "string", valueName: "P", default: "2", description: "processes the clients (and, apart, the instances) are spread over" },
    quick: { type: "boolean", default: false, description: "1,000 instances, 3 s measured, a fixed 1 s warm-up, no core probe (a smoke run under 30 s)" },
    ...warmUpFlags(WARM_UP),
    json: { type: "boolean", default: false, description: "print the rows as JSON" },
  },
});
const quick = values.quick;
const counts = (quick ? "1000" : values.instances).split(",").map((n) => numberSetting("--instances", n, 1000, { min: 1, integer: true }));
const services = numberSetting("--services", values.services, 50, { min: 1, integer: true });
const clients = numberSetting("--clients", values.clients, 100, { min: 1, integer: true });
const calls = numberSetting("--calls", values.calls, 3, { min: 1, max: services, integer: true });
const seconds = quick ? 3 : numberSetting("--seconds", values.seconds, 10, { min: 1 });
const heartbeatMs = numberSetting("--heartbeat-ms", values["heartbeat-ms"], 1000, { min: 10, integer: true });
const processes = numberSetting("--processes", values.processes, 2, { min: 1, integer: true });
const warmUp = warmUpBounds(values, WARM_UP, quick);
const here = (file: string) => new URL(file, import.meta.url).pathname;
const serviceName = (i: number) => `bench.discovery.v1.Service${i % services}`;
const callsOf = (client: number) => Array.from({ length: calls }, (_, k) => serviceName(client * calls + k));

/** Longest wait for every interested client to see the new instance, and to drop the dead one. */
const SIGHTING_WAIT_MS = 15_000;
/** Longest wait for every client's table to be exact before measuring. */
const SETTLE_WAIT_MS = 15_000;

interface Row {
  instances: number;
  natsInMsgsPerS: number;
  natsOutMsgsPerS: number;
  clientCpuMsPerS: number;
  clientCorePercent: number;
  clientHeapMb: number;
  processRssMb: number;
  newInstanceSeenMs: number;
  deadInstanceDroppedMs: number;
  tablesExact: boolean;
  settleMs: number;
  slowConsumers: number;
  /** The warm-up as the report says it, and both cores' probes around the measured window. */
  warmUp: string;
  probe?: RunProbes;
  slowCore?: boolean;
}

/** A child whose stdout lines are kept and can be awaited. */
function child(command: string, args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; lines: string[]; next(match: RegExp, timeoutMs: number): Promise<RegExpExecArray> } {
  const proc = spawn(command, args, { env, stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  return {
    proc,
    lines,
    next: (match, timeoutMs) => new Promise((resolve, reject) => {
      const check = () => {
        for (const line of lines) {
          const m = match.exec(line);
          if (m !== null) {
            lines.splice(lines.indexOf(line), 1);
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${args[0] ?? command}: no ${match} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
  };
}

/** A nats-server on ports it picks (client and monitoring), read from its log. */
async function startNats(): Promise<{ url: string; varz: () => Promise<{ in_msgs: number; out_msgs: number; slow_consumers: number }>; stop(): void }> {
  const proc = spawn("nats-server", ["-a", "127.0.0.1", "-p", "-1", "-m", "-1"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const ready = /Starting http monitor on 127\.0\.0\.1:(\d+)[\s\S]*Listening for client connections on 127\.0\.0\.1:(\d+)[\s\S]*Server is ready/;
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 15_000);
    const onData = (c: Buffer) => {
      log += c.toString();
      const m = ready.exec(log);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
  proc.stdout!.resume();
  proc.stderr!.resume();
  const monitor = `http://127.0.0.1:${match[1]}`;
  return {
    url: `nats://127.0.0.1:${match[2]}`,
    varz: async () => (await (await fetch(`${monitor}/varz`)).json()) as { in_msgs: number; out_msgs: number; slow_consumers: number },
    stop: () => void proc.kill("SIGKILL"),
  };
}

async function measure(instances: number): Promise<Row> {
  const nats = await startNats();
  const env = { ...process.env, NATS_URL: nats.url };
  const prefix = "weft.bench.registry";
  const children: ReturnType<typeof child>[] = [];
  try {
    const per = Math.ceil(instances / processes);
    const sims = [];
    for (let p = 0; p < processes && p * per < instances; p++) {
      const settings = { from: p * per, count: Math.min(per, instances - p * per), services, prefix, heartbeatMs };
      sims.push(child(process.execPath, [here("./simulated-instances.ts"), JSON.stringify(settings)], env));
    }
    children.push(...sims);
    await Promise.all(sims.map((s) => s.next(/^READY$/, 60_000)));
    const groups = Array.from({ length: processes }, (_, p) => Array.from({ length: clients }, (_, c) => c).filter((c) => c % processes === p));
    const activeGroups = groups.filter((g) => g.length > 0);
    const clientProcs = activeGroups.map((g) =>
      child(process.execPath, [here("./clients.ts"), JSON.stringify({ prefix, clients: g.map((id) => ({ id, services: callsOf(id) })) })], env));
    children.push(...clientProcs);
    await Promise.all(clientProcs.map((c) => c.next(/^READY$/, 60_000)));
    // Steady state: every table exact (start-up snapshots may come back short under load; heartbeats
    // then fill them), within a bounded wait, plus one heartbeat.
    const report = async () => Promise.all(clientProcs.map(async (c) => {
      c.proc.stdin!.write("REPORT\n");
      return JSON.parse((await c.next(/^REPORT (.*)$/, 10_000))[1]) as { cpuMs: number; elapsedMs: number; heapMb: number; rssMb: number; held: number[] };
    }));
    const expected = (client: number) => callsOf(client).reduce((n, s) => n + Array.from({ length: instances }, (_, i) => i).filter((i) => serviceName(i) === s).length, 0);
    const exact = (reports: { held: number[] }[]) => activeGroups.every((g, p) => g.every((c, k) => reports[p].held[k] === expected(c)));
    const settleStart = performance.now();
    while (!exact(await report()) && performance.now() - settleStart < SETTLE_WAIT_MS) await sleep(250);
    const settleMs = Math.round(performance.now() - settleStart);
    // Heartbeat-long windows of the clients' CPU (ms per second, all processes) until it stops falling.
    const warm = await warmUntil(async () => {
      for (const c of clientProcs) c.proc.stdin!.write("MEASURE\n");
      await sleep(heartbeatMs);
      const windows = await report();
      return windows.reduce((n, r) => n + r.cpuMs / (r.elapsedMs / 1000), 0);
    }, (cpu) => stoppedFalling(cpu), warmUp);

    const { value: measured, probe: coreProbe } = await betweenProbes(async () => {
      const v0 = await nats.varz();
      const t0 = performance.now();
      for (const c of clientProcs) c.proc.stdin!.write("MEASURE\n");
      await sleep(seconds * 1000);
      const reports = await report();
      const v1 = await nats.varz();
      return { v0, v1, reports, elapsedS: (performance.now() - t0) / 1000 };
    }, !quick);
    const { v0, v1, reports, elapsedS } = measured;
    // Every client must hold exactly the instances of the services it calls.
    const tablesExact = exact(reports);

    // A new instance of Service0, then its silent death (connection closed without a leave).
    const interested = Array.from({ length: clients }, (_, c) => c).filter((c) => callsOf(c).includes(serviceName(0)));
    const nc = await connectNats({ servers: nats.url, name: "weft-bench-discovery-probe" });
    const probe = createAnnouncer({ nc, instanceId: "probe-1", services: [serviceName(0)], address: "127.0.0.1:9", subjectPrefix: prefix, heartbeatIntervalMs: heartbeatMs });
    const startedAt = Date.now();
    await probe.start();
    // A client that has not seen it within the wait counts as never (the row then says "> wait").
    const sightings = (word: string) => Promise.all(interested.map((c) => clientProcs[c % processes].next(new RegExp(`^${word} ${c} probe-1 (\\d+)$`), SIGHTING_WAIT_MS).then((m) => Number(m[1]), () => Infinity)));
    const seen = await sightings("SEEN");
    await sleep(heartbeatMs * 1.5);
    const silentAt = Date.now();
    await nc.close(); // no leave: as after kill -9
    const dropped = await sightings("DROPPED");

    const cpuMs = reports.reduce((n, r) => n + r.cpuMs, 0);
    const perClientMsPerS = cpuMs / clients / (reports[0].elapsedMs / 1000);
    return {
      instances,
      natsInMsgsPerS: Math.round((v1.in_msgs - v0.in_msgs) / elapsedS),
      natsOutMsgsPerS: Math.round((v1.out_msgs - v0.out_msgs) / elapsedS),
      clientCpuMsPerS: round(perClientMsPerS),
      clientCorePercent: round(perClientMsPerS / 10),
      clientHeapMb: round(reports.reduce((n, r) => n + r.heapMb, 0) / clients),
      processRssMb: round(Math.max(...reports.map((r) => r.rssMb))),
      newInstanceSeenMs: Math.max(...seen) - startedAt,
      deadInstanceDroppedMs: Math.max(...dropped) - silentAt,
      tablesExact,
      settleMs,
      slowConsumers: v1.slow_consumers,
      warmUp: describeWarmUp(warm, "still falling"),
      ...(coreProbe === undefined ? {} : { probe: coreProbe }),
    };
  } finally {
    for (const c of children) c.proc.kill("SIGTERM");
    await sleep(200);
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
    nats.stop();
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

const rows: Row[] = [];
for (const n of counts) rows.push(await measure(n));
// One measurement per point: a point measured in a slow spell is marked "*", not left out.
const slow = slowRunFilter(rows, (r) => r.probe);
for (const r of rows) r.slowCore = slow.isSlow(r);
if (values.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(`discovery: ${services} services, ${clients} clients x ${calls} services, heartbeat ${heartbeatMs} ms (expiry 3x), ${seconds} s measured per point, clients in ${processes} processes`);
  console.log(slow.note(rows.map((r) => [r])));
  console.log("| instances (slow core: *) | NATS in msg/s | NATS out msg/s | client CPU ms/s | % of a core | heap MB/client | RSS MB/process | new seen ms | dead dropped ms | tables exact (ms to settle) | slow consumers | warm-up |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  const ms = (n: number) => (Number.isFinite(n) ? String(n) : `> ${SIGHTING_WAIT_MS}`);
  for (const r of rows) console.log(`| ${r.instances}${r.slowCore ? " *" : ""} | ${r.natsInMsgsPerS} | ${r.natsOutMsgsPerS} | ${r.clientCpuMsPerS} | ${r.clientCorePercent} | ${r.clientHeapMb} | ${r.processRssMb} | ${ms(r.newInstanceSeenMs)} | ${ms(r.deadInstanceDroppedMs)} | ${r.tablesExact} (${r.settleMs}) | ${r.slowConsumers} | ${r.warmUp} |`);
}
