// Where a service's memory goes. Two measurements:
// 1. What each dependency and each mesh layer costs on its own: a fresh process per module (the service
//    processes' V8 flags, a warm compile cache) imports it; its heap, RSS, PSS and private memory minus
//    those of an empty process. This is the heap comparison of "Node alone" against "Node + the module".
// 2. Every process of the distributed shop (`npm run start:distributed`), idle once all are listening:
//    RSS beside PSS and private memory, since RSS counts the node binary's pages that all of them share.
// Usage: npm run bench:footprint -- [--quick] [--no-services] [--out DIR]

import { execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { SERVICE_NODE_FLAGS, serviceCompileCacheEnv } from "../../mesh/host/index.ts";
import { SHOP_SERVICES } from "../../services/manifest.ts";
import { machineInfo, revision } from "../lib/machine.ts";
import { processMemory, type ProcessMemory } from "../lib/process-memory.ts";
import { median } from "../lib/stats.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;

const { values } = readCommandLine({
  usage: "npm run bench:footprint -- [--quick] [--no-services] [--out DIR]",
  summary: "Memory per dependency and mesh layer (one fresh process each), and per process of the idle distributed shop: RSS, PSS and private memory.",
  flags: {
    quick: { type: "boolean", default: false, description: "three modules, one sample each (a smoke run)" },
    services: { type: "boolean", default: true, description: "also measure the distributed shop's processes (--no-services skips it)" },
    samples: { type: "string", valueName: "N", default: "3", description: "fresh processes per module; the median is reported" },
    out: { type: "string", valueName: "DIR", defaultText: "bench/results", description: "where footprint-latest.md and the JSON go" },
  },
});
const quick = values.quick === true;
const samples = quick ? 1 : Math.max(1, Number(values.samples));
const outDir = values.out ?? join(root, "bench/results");

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
  return { spec, heapUsedMb: field("heapUsedMb"), heapTotalMb: field("heapTotalMb"), externalMb: field("externalMb"), rssMb: field("rssMb"), pssMb: field("pssMb"), privateMb: field("privateMb"), sharedCleanMb: field("sharedCleanMb") };
}

const machine = machineInfo();
const rev = revision();
const modules = quick ? MODULES.filter((m) => QUICK_MODULES.includes(m.spec)) : MODULES;
const base = await measure("none");
const rows: Probe[] = [];
for (const m of modules) {
  rows.push(await measure(m.spec));
  process.stderr.write(`${m.spec}: heap +${(rows.at(-1)!.heapUsedMb - base.heapUsedMb).toFixed(1)} MB\n`);
}

/** The distributed shop, idle: each process's memory once every instance is listening and a settle has passed. */
async function shopProcesses(): Promise<{ name: string; memory: ProcessMemory }[]> {
  const launcher = spawn(process.execPath, [join(root, "scripts/start-distributed.ts"), "--gateway-port", "0"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const expected = SHOP_SERVICES.reduce((n, s) => n + s.defaultInstances, 0);
  let listening = 0;
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      listening += (chunk.toString().match(/"message":"\w+ listening"/g) ?? []).length;
      if (listening >= expected) resolve();
    };
    launcher.stdout!.on("data", onData);
    launcher.stderr!.on("data", onData);
    launcher.once("exit", (code) => reject(new Error(`npm run start:distributed exited (code ${code}) before every instance listened:\n${log}`)));
    setTimeout(() => reject(new Error(`not every instance listened within 60 s (${listening} of ${expected}):\n${log}`)), 60_000).unref();
  });
  try {
    await ready;
    await sleep(3_000);
    const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    return children.flatMap((pid) => {
      const script = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").find((a) => a.endsWith("/main.ts")) ?? "";
      const memory = processMemory(pid);
      return memory === undefined ? [] : [{ name: script.split("/").at(-2) ?? String(pid), memory }];
    }).sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    launcher.kill("SIGINT");
    await new Promise((resolve) => launcher.once("exit", resolve));
  }
}
const shop = values.services && !quick ? await shopProcesses() : [];

const at = new Date().toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
const plus = (a: number, b: number) => (a - b >= 0 ? "+" : "") + (a - b).toFixed(1);
const what = new Map(MODULES.map((m) => [m.spec, m.what]));
const lines = [
  `# bench:footprint ${at}`,
  "",
  `${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverageStart}; revision ${rev.commit.slice(0, 12)}${rev.uncommitted.length > 0 ? " (with uncommitted changes)" : ""}; Node ${process.version}, flags ${SERVICE_NODE_FLAGS.join(" ")}, warm compile cache; median of ${samples} fresh process(es) per module.`,
  "",
  `Node alone: heap ${base.heapUsedMb} MB used of ${base.heapTotalMb}, RSS ${base.rssMb} MB, PSS ${base.pssMb}, private ${base.privateMb} (shared pages: ${base.sharedCleanMb} MB). Each row: one process importing that module (and what it imports), minus Node alone.`,
  "",
  "| module | what | heap used MB | heap reserved MB | external MB | RSS MB | private MB |",
  "|---|---|---:|---:|---:|---:|---:|",
  ...rows.map((r) => `| \`${r.spec}\` | ${what.get(r.spec)} | ${plus(r.heapUsedMb, base.heapUsedMb)} | ${plus(r.heapTotalMb, base.heapTotalMb)} | ${plus(r.externalMb, base.externalMb)} | ${plus(r.rssMb, base.rssMb)} | ${plus(r.privateMb, base.privateMb)} |`),
];
if (shop.length > 0) {
  lines.push(
    "",
    "The distributed shop (`npm run start:distributed`, mutual TLS, default instances), idle 3 s after every instance listened. RSS counts the shared pages of the node binary in every process; private memory is what each process adds to the machine.",
    "",
    "| process | RSS MB | PSS MB | private MB | shared pages MB |",
    "|---|---:|---:|---:|---:|",
    ...shop.map((p) => `| ${p.name} | ${p.memory.rssMb} | ${p.memory.pssMb} | ${p.memory.privateMb} | ${p.memory.sharedCleanMb} |`),
    `| all ${shop.length} | ${shop.reduce((n, p) => n + p.memory.rssMb, 0).toFixed(0)} | ${shop.reduce((n, p) => n + p.memory.pssMb, 0).toFixed(0)} | ${shop.reduce((n, p) => n + p.memory.privateMb, 0).toFixed(0)} | |`,
  );
}
const report = lines.join("\n") + "\n";
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `footprint-${at}.json`), JSON.stringify({ at, machine, revision: rev, samples, base, modules: rows, shop }, null, 2) + "\n");
writeFileSync(join(outDir, "footprint-latest.md"), report);
process.stdout.write(report);
