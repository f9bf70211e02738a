// `npm run bench:shop`: the shop's real calls (browse, product details, checkout signed in) in
// `npm start` mode and in distributed mode over gRPC, the fastify + grpc-js peer (bench/shop/peer.ts),
// raw node:http JSON (the ceiling) and the same calls with no framework (bench/shop/raw-composite.ts: in
// one process, and fanned out over node:http2), side by side in one run: throughput, p50/p99, server CPU per
// call and RSS per process (idle, after the load, and after a settle), every response checked
// (bench/shop/calls.ts). Results: bench/results/shop-<timestamp>.json and shop-latest.md (a full run),
// a temporary folder with --quick (< 60 s; checks that everything runs, says nothing about speed).
// Each call warms up until its req/s stop rising (bench/shop/load.ts); both cores' speed is probed
// around each measured call, and a call measured in a slow spell is marked (and so is a ratio using it).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { serviceCompileCacheEnv, SERVICE_NODE_FLAGS } from "../../mesh/host/index.ts";
import { deleteEventStreams } from "../../test/support/event-streams.ts";
import { BENCH_PATH, jsonRequestBody } from "../lib/bench-request.ts";
import { machineInfo, revision } from "../lib/machine.ts";
import { processMemory } from "../lib/process-memory.ts";
import { cpuSeconds, LOAD_CORE, pinned, runToCompletion, SERVER_CORE, startChild } from "../lib/processes.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { describeWarmUp } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";
import { BROWSE_PAGE_SIZE, type LoadSpec, type VerifierName } from "./calls.ts";

// Each call's warm-up: at least 5 s, then until its req/s stop rising, at most 30 s (quick: a fixed 0.3 s).
const WARM_UP = { minS: 5, maxS: 30, quickS: 0.3, until: "the call's req/s stop rising" };
const { values } = readCommandLine({
  usage: "npm run bench:shop -- [--quick] [--seconds S] [--warmup S] [--max-warmup S]",
  summary: "The shop's calls in npm start and distributed mode beside a fastify + grpc-js peer and raw node:http, every response checked.",
  flags: {
    quick: { type: "boolean", default: false, description: "1 s per call, a fixed 0.3 s warm-up, 16 connections, no core probe, results in a temporary folder (< 60 s)" },
    ...warmUpFlags(WARM_UP),
    seconds: { type: "string", valueName: "S", defaultText: "10 (quick 2)", description: "measured seconds per call" },
    out: { type: "string", valueName: "DIR", defaultText: "bench/results (quick: a temporary folder)", description: "where results go" },
  },
});
const quick = values.quick === true;
const seconds = Number(values.seconds ?? (quick ? 1 : 10));
const warmUp = warmUpBounds(values, WARM_UP, quick);
const [warmupSeconds, maxWarmupSeconds] = [warmUp.minMs / 1000, warmUp.maxMs / 1000];
const settleMs = quick ? 500 : 10_000;
// Quick runs check that everything answers: fewer connections keep a shared CI machine out of load shedding.
const CONNECTIONS = quick ? 16 : 64;
const root = fileURLToPath(new URL("../..", import.meta.url));
const out = values.out ?? (quick ? mkdtempSync(join(tmpdir(), "weft-bench-shop-")) : join(root, "bench/results"));
const PRODUCTS = Array.from({ length: 1200 }, (_, i) => `prod-${String(i + 1).padStart(4, "0")}`);
// Checkouts rotate over the products the seed stocks well, one unit each, so none runs out during a run.
const STOCKED = Object.entries(JSON.parse(readFileSync(join(root, "services/inventory/seed/stock.json"), "utf8")) as Record<string, number>).filter(([, n]) => n >= 100).map(([id]) => id);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function nameOf(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const script = cmd.findIndex((a) => a.endsWith("peer.ts") || a.endsWith("raw-composite.ts"));
    if (script >= 0) return `${cmd[script]!.endsWith("peer.ts") ? "peer" : "raw"}-${cmd[script + 1]}`;
    return /services\/([a-z]+)\/main\.ts/.exec(cmd.join(" "))?.[1] ?? (cmd.includes("services/start.ts") ? "shop" : "server");
  } catch {
    return "gone";
  }
}

/** A system under test: its server processes, its base URL and how each call is addressed. */
interface System {
  readonly id: string;
  readonly what: string;
  readonly pids: () => number[];
  readonly calls: readonly { readonly call: string; readonly spec: Omit<LoadSpec, "connections" | "seconds" | "warmupSeconds" | "maxWarmupSeconds"> }[];
  readonly startMs: number;
  stop(): Promise<void>;
}

function spawnTracked(command: string, args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; log: () => string; exited: Promise<void> } {
  const proc = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk: Buffer) => { log = (log + chunk.toString()).slice(-20_000); };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return { proc, log: () => log, exited };
}

async function stopTracked(t: { proc: ChildProcess; exited: Promise<void> }): Promise<void> {
  if (t.proc.exitCode !== null || t.proc.signalCode !== null) return;
  t.proc.kill("SIGTERM");
  const timer = setTimeout(() => t.proc.kill("SIGKILL"), 10_000);
  await t.exited;
  clearTimeout(timer);
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON: the status says why */ }
  return { status: res.status, json };
}

/** Polls until `probe` answers true (a system is up when a real call succeeds, not when a port opens). */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${log().slice(-3000)}`);
}

const GW = "/shop.gateway.v1.GatewayService";
const json = { "content-type": "application/json" };

function shopCalls(base: string, token: string): System["calls"] {
  const calls: System["calls"][number][] = [
    { call: "browse", spec: { url: `${base}${GW}/Browse`, method: "POST", headers: json, body: JSON.stringify({ pageSize: BROWSE_PAGE_SIZE }), verify: "browse" } },
    { call: "details", spec: { url: `${base}${GW}/GetProductDetails`, method: "POST", headers: json, bodies: PRODUCTS.slice(0, 100).map((id) => JSON.stringify({ id })), verify: "details" } },
    { call: "checkout", spec: { url: `${base}${GW}/Checkout`, method: "POST", headers: { ...json, authorization: `Bearer ${token}` }, bodies: STOCKED.map((productId) => JSON.stringify({ items: [{ productId, quantity: 1 }] })), verify: "checkout" } },
  ];
  return calls;
}

async function signUp(base: string): Promise<string> {
  const email = `bench-${randomBytes(4).toString("hex")}@example.com`;
  const r = await post(`${base}${GW}/SignUp`, { email, password: `Wq${randomBytes(9).toString("base64url")}!7`, displayName: "Bench" });
  if (r.status !== 200 || typeof r.json.accessToken !== "string") throw new Error(`sign-up failed (${r.status}): ${JSON.stringify(r.json)}`);
  return r.json.accessToken;
}

const baseEnv = { ...process.env, ...serviceCompileCacheEnv(process.env), GATEWAY_RATE_LIMITS: "off", LOG_LEVEL: "warn" };

async function startRaw(): Promise<System> {
  const t0 = performance.now();
  const server = await startChild(join(root, "bench/servers/raw-http1.ts"), ["--mode", "h1"], SERVER_CORE, SERVICE_NODE_FLAGS);
  if (server.kind !== "ready") throw new Error(server.reason);
  return {
    id: "raw-http", what: "node:http, JSON.parse + fixed response (the ceiling)", pids: () => [server.pid], startMs: performance.now() - t0,
    calls: [{ call: "json", spec: { url: `http://127.0.0.1:${server.port}${BENCH_PATH}`, method: "POST", headers: json, body: jsonRequestBody, verify: "raw" } }],
    stop: () => server.stop(),
  };
}

async function startInProcess(): Promise<System> {
  const port = await freePort();
  const t0 = performance.now();
  const cmd = pinned(SERVER_CORE, process.execPath, [...SERVICE_NODE_FLAGS, "services/start.ts"]);
  const t = spawnTracked(cmd.command, cmd.args, { ...baseEnv, PORT: String(port), WEB: "off", WEFT_ADMIN_TOKEN: randomBytes(16).toString("hex") });
  const base = `http://127.0.0.1:${port}`;
  await until("npm start", async () => (await post(`${base}${GW}/Browse`, { pageSize: 1 })).status === 200, 60_000, t.log);
  const startMs = performance.now() - t0;
  return { id: "weft-start", what: "npm start: every service in one process", pids: () => [t.proc.pid!], startMs, calls: shopCalls(base, await signUp(base)), stop: () => stopTracked(t) };
}

async function startDistributed(): Promise<System> {
  const port = await freePort();
  const t0 = performance.now();
  const run = `benchshop${randomBytes(3).toString("hex")}`;
  const t = spawnTracked(process.execPath, ["scripts/start-distributed.ts", "--insecure", "--gateway-port", String(port), "--instances", "catalog=1,inventory=1,identity=1,orders=1,gateway=1"], {
    ...baseEnv, MESH_EVENTS_PREFIX: run, MESH_RPC_PREFIX: `weft.rpc.${run}`, MESH_REGISTRY_PREFIX: `weft.registry.${run}`,
  });
  const base = `http://127.0.0.1:${port}`;
  await until("the distributed shop", async () => (await post(`${base}${GW}/GetProductDetails`, { id: "prod-0001" })).status === 200 && (await post(`${base}${GW}/Browse`, { pageSize: 1 })).status === 200, 90_000, t.log);
  const startMs = performance.now() - t0;
  // The gateway answers before it has discovered identity: sign-up is polled like the calls above.
  let token = "";
  await until("sign-up through the distributed shop", async () => (token = await signUp(base)) !== "", 30_000, t.log);
  return {
    id: "weft-distributed", what: "npm run start:distributed --insecure, one process per service, gRPC between them", pids: () => childrenOf(t.proc.pid!), startMs,
    calls: shopCalls(base, token),
    // The shop's streams go with it: left on the shared NATS server, every run would add its own.
    stop: async () => {
      await stopTracked(t);
      await deleteEventStreams([run]);
    },
  };
}

/** Starts a three-process system (catalog, inventory, an edge calling both) and waits for its details call. */
async function startEdgeAndTwo(script: string, env: NodeJS.ProcessEnv, what: string) {
  const [edgePort, catalogPort, inventoryPort] = [await freePort(), await freePort(), await freePort()];
  const t0 = performance.now();
  const procs = [spawnTracked(process.execPath, [script, "catalog", String(catalogPort)], env), spawnTracked(process.execPath, [script, "inventory", String(inventoryPort)], env)];
  procs.push(spawnTracked(process.execPath, [script, "edge", String(edgePort), String(catalogPort), String(inventoryPort)], env));
  const base = `http://127.0.0.1:${edgePort}`;
  await until(what, async () => (await post(`${base}/product`, { id: "prod-0001" })).status === 200, 30_000, () => procs.map((p) => p.log()).join("\n"));
  return { base, startMs: performance.now() - t0, pids: () => procs.map((p) => p.proc.pid!), ...edgeCalls(base), stop: async () => { await Promise.all(procs.map(stopTracked)); } };
}

/** Browse and details of an edge at `base` that serves them as /browse and /product (the peer, the raw systems). */
function edgeCalls(base: string) {
  return {
    browse: { call: "browse", spec: { url: `${base}/browse`, method: "POST", headers: json, body: JSON.stringify({ pageSize: BROWSE_PAGE_SIZE }), verify: "browse" } } as const,
    details: { call: "details", spec: { url: `${base}/product`, method: "POST", headers: json, bodies: PRODUCTS.slice(0, 100).map((id) => JSON.stringify({ id })), verify: "details" } } as const,
  };
}

async function startRawSingle(): Promise<System> {
  const port = await freePort();
  const t0 = performance.now();
  const cmd = pinned(SERVER_CORE, process.execPath, [...SERVICE_NODE_FLAGS, join(root, "bench/shop/raw-composite.ts"), "single", String(port)]);
  const t = spawnTracked(cmd.command, cmd.args, baseEnv);
  const base = `http://127.0.0.1:${port}`;
  await until("the raw single process", async () => (await post(`${base}/product`, { id: "prod-0001" })).status === 200, 30_000, t.log);
  const { browse, details } = edgeCalls(base);
  return { id: "raw-single", what: "node:http serving browse and details from in-process catalog and inventory, no framework (the ceiling of npm start)", pids: () => [t.proc.pid!], startMs: performance.now() - t0, calls: [browse, details], stop: () => stopTracked(t) };
}

async function startRawComposite(): Promise<System> {
  const { startMs, pids, browse, details, stop } = await startEdgeAndTwo(join(root, "bench/shop/raw-composite.ts"), baseEnv, "the raw composite");
  return { id: "raw-composite", what: "node:http edge + node:http2 JSON to two node:http2 backends, no framework (the fan-out ceiling)", pids, startMs, calls: [browse, details], stop };
}

async function startPeer(): Promise<System> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const env = { ...baseEnv, PEER_PUBLIC_JWK: JSON.stringify(await exportJWK(publicKey)) };
  const { base, startMs, pids, browse, details, stop } = await startEdgeAndTwo(join(root, "bench/shop/peer.ts"), env, "the fastify + grpc-js peer");
  const token = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setSubject("user-bench").setIssuedAt().setExpirationTime("1h").sign(privateKey);
  return {
    id: "peer", what: "fastify edge + @grpc/grpc-js catalog and inventory (bench/shop/peer.ts)", pids, startMs,
    calls: [
      browse,
      details,
      { call: "checkout", spec: { url: `${base}/checkout`, method: "POST", headers: { ...json, authorization: `Bearer ${token}` }, bodies: STOCKED.map((productId) => JSON.stringify({ items: [{ productId, quantity: 1 }] })), verify: "checkout" } },
    ],
    stop,
  };
}

interface LoadResult { requests: number; seconds: number; reqPerSec: number; verified: number; shed: number; failed: number; non2xx: number; errors: number; timeouts: number; firstFailure?: string; p50Ms: number; p99Ms: number; warmupMs?: number; steady?: boolean }

/** Runs the load driver; `onMeasure` is called when its measured run starts (after the warm-up). */
async function drive(spec: LoadSpec, onMeasure: () => void): Promise<LoadResult> {
  const cmd = pinned(LOAD_CORE, process.execPath, [join(root, "bench/shop/load.ts"), JSON.stringify(spec)]);
  const done = await runToCompletion(cmd.command, cmd.args, {
    timeoutMs: (Math.max(spec.warmupSeconds, spec.maxWarmupSeconds) + spec.seconds) * 1000 + 30_000,
    onLine: (line) => {
      if (line.startsWith('{"phase":"measure"}')) onMeasure();
    },
  });
  const line = done.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as LoadResult;
  } catch {
    throw new Error(`load driver failed: ${done.stderr.slice(-2000)}`);
  }
}

const rssOf = (pids: number[]) => Object.fromEntries(pids.map((pid, i) => [`${nameOf(pid)}#${i + 1}`, processMemory(pid)?.rssMb]));

interface Row {
  system: string; call: string; reqPerSec: number; shed: number; p50Ms: number; p99Ms: number; cpuMsPerCall: number | undefined; requests: number; verified: number; failed: number; ok: boolean; firstFailure?: string;
  warmupMs?: number; steady?: boolean; probe?: RunProbes; slowCore?: boolean;
}
const rows: Row[] = [];
const memory: Record<string, { startMs: number; idle: Record<string, number | undefined>; afterLoad: Record<string, number | undefined>; settled: Record<string, number | undefined> }> = {};
const failures: string[] = [];

for (const start of [startRaw, startRawSingle, startRawComposite, startInProcess, startDistributed, startPeer]) {
  let system: System | undefined;
  try {
    system = await start();
    await new Promise((r) => setTimeout(r, 1000));
    const idle = rssOf(system.pids());
    for (const { call, spec } of system.calls) {
      const pids = system.pids();
      // Server CPU from the start of the measured run (the warm-up's CPU is not the calls' cost).
      let cpu0 = pids.map((p) => cpuSeconds(p) ?? 0).reduce((a, b) => a + b, 0);
      const onMeasure = () => void (cpu0 = pids.map((p) => cpuSeconds(p) ?? 0).reduce((a, b) => a + b, 0));
      // The probes bracket the whole drive (warm-up included): a quick run skips them to stay quick.
      const { value: r, probe } = await betweenProbes(() => drive({ ...spec, connections: CONNECTIONS, warmupSeconds, maxWarmupSeconds, seconds }, onMeasure), !quick);
      const cpu1 = system.pids().map((p) => cpuSeconds(p) ?? 0).reduce((a, b) => a + b, 0);
      const ok = r.failed === 0 && r.errors === 0 && r.timeouts === 0 && r.verified + r.shed === r.requests && r.verified > 0;
      // Throughput counts served calls only: a shed call (RESOURCE_EXHAUSTED) is not a product page.
      const served = r.verified / r.seconds;
      rows.push({ system: system.id, call, reqPerSec: Math.round(served), shed: r.shed, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpuMsPerCall: r.requests > 0 ? Math.round(((cpu1 - cpu0) * 1000 / r.requests) * 1000) / 1000 : undefined, requests: r.requests, verified: r.verified, failed: r.failed + r.errors + r.timeouts, ok, firstFailure: r.firstFailure, ...(r.warmupMs === undefined ? {} : { warmupMs: r.warmupMs, ...(r.steady === undefined ? {} : { steady: r.steady }) }), ...(probe === undefined ? {} : { probe }) });
      if (!ok) failures.push(`${system.id}/${call}: ${r.verified} of ${r.requests} verified, ${r.failed} wrong, ${r.errors} errors, ${r.timeouts} timeouts${r.firstFailure ? ` (${r.firstFailure})` : ""}`);
      console.log(`${system.id.padEnd(17)} ${call.padEnd(12)} ${String(Math.round(served)).padStart(7)} served/s (${r.shed} shed)  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  ${ok ? "all verified" : "FAILED"}`);
    }
    const afterLoad = rssOf(system.pids());
    await new Promise((r) => setTimeout(r, settleMs));
    memory[system.id] = { startMs: Math.round(system.startMs), idle, afterLoad, settled: rssOf(system.pids()) };
  } catch (err) {
    failures.push(`${start.name}: ${(err as Error).message}`);
    console.error(`${start.name} failed: ${(err as Error).message}`);
  } finally {
    await system?.stop();
  }
}

// One measurement per call: a call measured in a slow spell cannot leave a median, so it and every ratio
// using it are marked "*" (not a verdict).
const slow = slowRunFilter(rows, (r) => r.probe);
for (const r of rows) r.slowCore = slow.isSlow(r);
const row = (system: string, call: string) => rows.find((r) => r.system === system && r.call === call);
const ratio = (a: Row | undefined, b: Row | undefined) => (a === undefined || b === undefined || b.reqPerSec === 0 ? undefined : Math.round((a.reqPerSec / b.reqPerSec) * 100) / 100);
const raw = row("raw-http", "json");
const pairs = {
  "npm start details / raw node:http (target >= 0.5)": [row("weft-start", "details"), raw],
  "npm start details / raw single details (the same call with no framework, in one process)": [row("weft-start", "details"), row("raw-single", "details")],
  "distributed details / raw node:http (target >= 0.35)": [row("weft-distributed", "details"), raw],
  "distributed details / raw composite details (the same fan-out with no framework)": [row("weft-distributed", "details"), row("raw-composite", "details")],
  "raw composite details / raw node:http (what a fan-out of two costs at best)": [row("raw-composite", "details"), raw],
  "npm start browse / raw single browse (a cached catalog page through the gateway, target >= 0.6)": [row("weft-start", "browse"), row("raw-single", "browse")],
  "distributed browse / raw composite browse (the same, over gRPC)": [row("weft-distributed", "browse"), row("raw-composite", "browse")],
  "distributed details / peer details (target >= 1.5)": [row("weft-distributed", "details"), row("peer", "details")],
  "npm start details / peer details": [row("weft-start", "details"), row("peer", "details")],
} as const;
const ratios = Object.fromEntries(Object.entries(pairs).map(([k, [a, b]]) => [k, ratio(a, b)]));
const slowRatios = Object.entries(pairs).filter(([, [a, b]]) => a?.slowCore === true || b?.slowCore === true).map(([k]) => k);
const stamp = new Date().toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
mkdirSync(out, { recursive: true });
const result = { kind: "bench:shop", quick, seconds, connections: CONNECTIONS, machine: machineInfo(), revision: revision(), rows, ratios, slowRatios, memory, failures };
writeFileSync(join(out, `shop-${stamp}.json`), JSON.stringify(result, null, 2));
const md = [
  `# bench:shop ${stamp}${quick ? " (quick: says nothing about speed)" : ""}`,
  "",
  `autocannon -c ${CONNECTIONS}, ${seconds} s per call after a warm-up of ${quick ? `a fixed ${warmupSeconds} s` : `at least ${warmupSeconds} s that goes on until the req/s stop rising (at most ${maxWarmupSeconds} s)`}; every response checked; req/s counts served (verified) calls, shed = answered RESOURCE_EXHAUSTED. Load on core ${LOAD_CORE}; npm start and raw node:http pinned to core ${SERVER_CORE}; the distributed shop and the peer unpinned.`,
  "",
  slow.note(rows.map((r) => [r])),
  "",
  "| system | call | req/s (slow core: *) | shed | p50 ms | p99 ms | server CPU ms/call | verified | warm-up |",
  "|---|---|---:|---:|---:|---:|---:|---|---:|",
  ...rows.map((r) => `| ${r.system} | ${r.call} | ${r.reqPerSec}${r.slowCore ? " *" : ""} | ${r.shed} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuMsPerCall ?? "-"} | ${r.ok ? `all ${r.verified}` : `FAILED (${r.failed} of ${r.requests})`} | ${r.warmupMs === undefined ? "-" : describeWarmUp({ warmupMs: r.warmupMs, steady: r.steady })} |`),
  "",
  "| ratio (same run; * = a side measured in a slow spell, not a verdict) | value |",
  "|---|---:|",
  ...Object.entries(ratios).map(([k, v]) => `| ${k} | ${v ?? "-"}${slowRatios.includes(k) ? " *" : ""} |`),
  "",
  "| system | ready after ms | RSS MB per process: idle / after load / after settle |",
  "|---|---:|---|",
  ...Object.entries(memory).map(([id, m]) => `| ${id} | ${m.startMs} | ${Object.keys(m.idle).map((p) => `${p} ${m.idle[p] ?? "-"} / ${m.afterLoad[p] ?? "-"} / ${m.settled[p] ?? "-"}`).join("; ")} |`),
  ...(failures.length > 0 ? ["", "Failures:", ...failures.map((f) => `- ${f}`)] : []),
  "",
].join("\n");
writeFileSync(join(out, `shop-${stamp}.md`), md);
if (!quick && values.out === undefined) writeFileSync(join(out, "shop-latest.md"), md);
console.log(`\n${md}\nresults: ${join(out, `shop-${stamp}.json`)}`);
process.exit(failures.length > 0 ? 1 : 0);
