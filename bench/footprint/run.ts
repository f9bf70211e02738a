// Where a service's memory goes. Two measurements:
// 1. What each dependency and each mesh layer costs on its own: a fresh process per module (the service
//    processes' V8 flags, a warm compile cache) imports it; its heap, RSS, PSS and private memory minus
//    those of an empty process. This is the heap comparison of "Node alone" against "Node + the module".
// 2. Every process of the distributed shop (`npm run start:distributed`): how long it took to listen and
//    announce (and each phase of that), its memory idle once all are listening (RSS beside PSS and private
//    memory, since RSS counts the node binary's pages that all of them share), at the end of a load
//    through the gateway and while idle again after it, split by region and by V8 heap space.
// Usage: npm run bench:footprint -- [--quick] [--no-modules] [--no-services] [--load-seconds S] [--settle S,S] [--out DIR]

import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { SERVICE_NODE_FLAGS, serviceCompileCacheEnv } from "../../mesh/host/index.ts";
import { SHOP_SERVICES } from "../../services/manifest.ts";
import { machineInfo, revision } from "../lib/machine.ts";
import type { ProcessMemory } from "../lib/process-memory.ts";
import { median } from "../lib/stats.ts";
import { measureShop } from "./shop-under-load.ts";
import { shopReport } from "./shop-report.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;

const { values } = readCommandLine({
  usage: "npm run bench:footprint -- [--quick] [--no-modules] [--no-services] [--idle-wait S] [--load-seconds S] [--settle S,S] [--out DIR]",
  summary: "Memory per dependency and mesh layer (one fresh process each), and per process of the distributed shop: start-up time by phase, and RSS, PSS and private memory idle, after a load and idle again.",
  flags: {
    quick: { type: "boolean", default: false, description: "three modules, one sample each (a smoke run)" },
    modules: { type: "boolean", default: true, description: "measure each dependency and mesh layer alone (--no-modules skips it)" },
    services: { type: "boolean", default: true, description: "also measure the distributed shop's processes (--no-services skips it)" },
    "idle-wait": { type: "string", valueName: "S", default: "25", description: "seconds after every instance listened before the idle reading (a host releases its start-up garbage after two quiet 5 s windows, and V8 hands the pages back about 8 s later)" },
    "load-seconds": { type: "string", valueName: "S", default: "60", description: "seconds of load through the gateway (details, browse, checkout in turn) before the after-load readings; 0 = idle only" },
    settle: { type: "string", valueName: "S,S", default: "10,30", description: "seconds after the load at which every process is read again" },
    "launcher-log": { type: "string", valueName: "FILE", description: "write the distributed shop's whole output (every process's log) to FILE" },
    samples: { type: "string", valueName: "N", default: "3", description: "fresh processes per module; the median is reported" },
    out: { type: "string", valueName: "DIR", defaultText: "bench/results", description: "where footprint-latest.md and the JSON go" },
  },
});
const quick = values.quick === true;
const samples = quick ? 1 : Math.max(1, Number(values.samples));
const outDir = values.out ?? join(root, "bench/results");
const settleMs = (values.settle ?? "").split(",").filter((v) => v.trim() !== "").map((v) => Math.round(Number(v) * 1000));
if (settleMs.some((v) => !Number.isFinite(v) || v < 0)) throw new Error(`--settle takes seconds, comma-separated, got ${JSON.stringify(values.settle)}`);
const idleWaitMs = Math.round(Number(values["idle-wait"]) * 1000);
if (!Number.isFinite(idleWaitMs) || idleWaitMs < 0) throw new Error(`--idle-wait takes seconds, got ${JSON.stringify(values["idle-wait"])}`);
const loadSeconds = Number(values["load-seconds"]);
if (!Number.isFinite(loadSeconds) || loadSeconds < 0) throw new Error(`--load-seconds takes seconds, got ${JSON.stringify(values["load-seconds"])}`);

/** What the runtime imports, from the dependencies up to whole services. Paths are from the repository root. */
const MODULES: readonly { readonly spec: string; readonly what: string }[] = [
  { spec: "@bufbuild/protobuf", what: "Protobuf runtime" },
  { spec: "@connectrpc/connect", what: "Connect core" },
  { spec: "@connectrpc/connect-node", what: "Connect for Node (only when asked for)" },
  { spec: "@bufbuild/protovalidate", what: "validation rules (CEL)" },
  { spec: "@opentelemetry/api", what: "tracing API" },
  { spec: "@opentelemetry/sdk-trace", what: "tracing SDK (only with an exporter)" },
  { spec: "prom-client", what: "Prometheus metrics" },
  { spec: "@nats-io/transport-node", what: "NATS client" },
  { spec: "@nats-io/jetstream", what: "JetStream client" },
  { spec: "ioredis", what: "Redis client (only with REDIS_URL)" },
  { spec: "pg", what: "PostgreSQL driver (orders, with DATABASE_URL)" },
  { spec: "piscina", what: "worker pool" },
  { spec: "./mesh/codec/index.ts", what: "mesh: codec" },
  { spec: "./mesh/protocol/index.ts", what: "mesh: protocol (with codec)" },
  { spec: "./mesh/host/index.ts", what: "mesh: host (with the layers below)" },
  { spec: "./mesh/node/index.ts", what: "mesh: node (the whole runtime)" },
  ...SHOP_SERVICES.map((s) => ({ spec: `./services/${s.name}/index.ts`, what: `service: ${s.name} (its handlers and what they import)` })),
];
const QUICK_MODULES = ["@bufbuild/protobuf", "./mesh/codec/index.ts"];

interface Probe extends ProcessMemory {
  readonly spec: string;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
  readonly externalMb: number;
  readonly importMs: number;
}

const env = { ...process.env, ...serviceCompileCacheEnv(process.env) };
async function probe(spec: string): Promise<Probe> {
  const args = [...SERVICE_NODE_FLAGS, "--expose-gc", join(root, "bench/footprint/import-probe.ts"), spec];
  const { stdout } = await run(process.execPath, args, { cwd: root, env, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Probe;
}

async function measure(spec: string): Promise<Probe> {
  await probe(spec); // fills the compile cache, as a service's second start finds it
  const runs: Probe[] = [];
  for (let i = 0; i < samples; i++) runs.push(await probe(spec));
  const field = (k: keyof Omit<Probe, "spec">) => median(runs.map((r) => r[k]));
  return { spec, importMs: field("importMs"), heapUsedMb: field("heapUsedMb"), heapTotalMb: field("heapTotalMb"), externalMb: field("externalMb"), rssMb: field("rssMb"), pssMb: field("pssMb"), privateMb: field("privateMb"), sharedCleanMb: field("sharedCleanMb") };
}

const machine = machineInfo();
const rev = revision();
const modules = quick ? MODULES.filter((m) => QUICK_MODULES.includes(m.spec)) : values.modules ? MODULES : [];
const base = await measure("none");
const rows: Probe[] = [];
for (const m of modules) {
  rows.push(await measure(m.spec));
  process.stderr.write(`${m.spec}: heap +${(rows.at(-1)!.heapUsedMb - base.heapUsedMb).toFixed(1)} MB\n`);
}

const measured = values.services && !quick
  ? await measureShop({ root, env, idleWaitMs, loadSeconds, connections: 64, settleMs: settleMs.sort((a, b) => a - b), logFile: values["launcher-log"], progress: (line) => process.stderr.write(`${line}\n`) })
  : { processes: [], load: [], solo: [] };
const shop = measured.processes;

const at = new Date().toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
const plus = (a: number, b: number) => (a - b >= 0 ? "+" : "") + (a - b).toFixed(1);
const what = new Map(MODULES.map((m) => [m.spec, m.what]));
const lines = [
  `# bench:footprint ${at}`,
  "",
  `${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverageStart}; revision ${rev.commit.slice(0, 12)}${rev.uncommitted.length > 0 ? " (with uncommitted changes)" : ""}; Node ${process.version}, flags ${SERVICE_NODE_FLAGS.join(" ")}, warm compile cache; median of ${samples} fresh process(es) per module.`,
  "",
  `Node alone: heap ${base.heapUsedMb} MB used of ${base.heapTotalMb}, RSS ${base.rssMb} MB, PSS ${base.pssMb}, private ${base.privateMb} (shared pages: ${base.sharedCleanMb} MB). Each row: one process importing that module (and what it imports), minus Node alone.`,
  ...(rows.length === 0 ? [] : ["", "| module | what | import ms | heap used MB | heap reserved MB | external MB | RSS MB | private MB |", "|---|---|---:|---:|---:|---:|---:|---:|"]),
  ...rows.map((r) => `| \`${r.spec}\` | ${what.get(r.spec)} | ${r.importMs} | ${plus(r.heapUsedMb, base.heapUsedMb)} | ${plus(r.heapTotalMb, base.heapTotalMb)} | ${plus(r.externalMb, base.externalMb)} | ${plus(r.rssMb, base.rssMb)} | ${plus(r.privateMb, base.privateMb)} |`),
];
if (shop.length > 0) lines.push("", ...shopReport(measured, { idleWaitMs, loadSeconds, connections: 64 }));
const report = lines.join("\n") + "\n";
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `footprint-${at}.json`), JSON.stringify({ at, machine: { ...machine, loadAverageEnd: Math.round(loadavg()[0]! * 100) / 100 }, revision: rev, samples, base, modules: rows, shop, load: measured.load, solo: measured.solo }, null, 2) + "\n");
writeFileSync(join(outDir, "footprint-latest.md"), report);
process.stdout.write(report);
