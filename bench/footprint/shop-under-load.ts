// The distributed shop as bench:footprint measures it: how long each process took from its start to
// listening and announced (the phases its "listening" line carries), its memory idle, at the end of a
// load through the gateway, and while it idles afterwards: does the memory the load took come back?
// Each reading splits resident memory by region (/proc/<pid>/smaps) and, from inside the process
// (memory-reporter.ts), into V8's heap spaces and Buffers.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SHOP_SERVICES } from "../../services/manifest.ts";
import { deleteEventStreams } from "../../test/support/event-streams.ts";
import { memoryRegions, processMemory, type MemoryRegions, type ProcessMemory } from "../lib/process-memory.ts";
import { LOAD_CORE, pinned, runToCompletion } from "../lib/processes.ts";
import { BROWSE_PAGE_SIZE, type LoadSpec } from "../shop/calls.ts";
import type { V8MemoryReport } from "./memory-reporter.ts";

/** One reading of a process's memory. */
export interface MemoryReading {
  readonly memory: ProcessMemory;
  readonly regions: MemoryRegions | undefined;
  /** V8's own view, when the process answered (memory-reporter.ts). */
  readonly v8: V8MemoryReport | undefined;
}

/** One process of the shop. */
export interface ShopProcess {
  readonly name: string;
  readonly instanceId: string;
  /** The start-up phases its "listening" line reported (ms), when it did. */
  readonly startup: Readonly<Record<string, unknown>> | undefined;
  readonly idle: MemoryReading;
  /** Right after the load ended. */
  readonly afterLoad: MemoryReading | undefined;
  /** After the load, idle again: one reading per settle point. */
  readonly settled: readonly { readonly afterMs: number; readonly reading: MemoryReading }[];
}

/** One more instance of a service, started alone while the shop idles: its start-up phases. */
export interface SoloStart {
  readonly name: string;
  readonly startup: Readonly<Record<string, unknown>> | undefined;
}

/** What one call's load did (bench/shop/load.ts's counts). */
export interface CallLoad {
  readonly call: string;
  readonly seconds: number;
  readonly requests: number;
  readonly verified: number;
  readonly shed: number;
  readonly failed: number;
}

/** Options of {@link measureShop}. */
export interface MeasureShopOptions {
  /** The repository's root. */
  readonly root: string;
  /** The launcher's environment (compile cache, NATS, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** How long after every instance listened the idle reading is taken, in ms. */
  readonly idleWaitMs: number;
  /** Seconds of load through the gateway, split evenly over its calls; 0 reads idle memory only. */
  readonly loadSeconds: number;
  /** Connections of the load generator. */
  readonly connections: number;
  /** When to read memory again after the load, in ms from its end, ascending. */
  readonly settleMs: readonly number[];
  /** Progress lines. */
  readonly progress: (line: string) => void;
  /** A file that gets the launcher's whole output (every process's log). Default: none. */
  readonly logFile?: string;
}

/** The shop's calls through the gateway that the load rotates over (every service answers one of them). */
function loadCalls(base: string, token: string): { call: string; spec: Omit<LoadSpec, "connections" | "seconds" | "warmupSeconds" | "maxWarmupSeconds"> }[] {
  const GW = `${base}/shop.gateway.v1.GatewayService`;
  const json = { "content-type": "application/json" };
  const products = Array.from({ length: 100 }, (_, i) => `prod-${String(i + 1).padStart(4, "0")}`);
  return [
    { call: "details", spec: { url: `${GW}/GetProductDetails`, method: "POST", headers: json, bodies: products.map((id) => JSON.stringify({ id })), verify: "details" } },
    { call: "browse", spec: { url: `${GW}/Browse`, method: "POST", headers: json, body: JSON.stringify({ pageSize: BROWSE_PAGE_SIZE }), verify: "browse" } },
    { call: "checkout", spec: { url: `${GW}/Checkout`, method: "POST", headers: { ...json, authorization: `Bearer ${token}` }, bodies: stockedProducts().map((productId) => JSON.stringify({ items: [{ productId, quantity: 1 }] })), verify: "checkout" } },
  ];
}

/** Products the seed stocks well (one unit per checkout, so none runs out during a run). */
function stockedProducts(): string[] {
  const stock = JSON.parse(readFileSync(new URL("../../services/inventory/seed/stock.json", import.meta.url), "utf8")) as Record<string, number>;
  return Object.entries(stock).filter(([, n]) => n >= 100).map(([id]) => id);
}

/** Signs a new user up through the gateway (retried while the gateway has not yet discovered identity). */
async function signUp(base: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/shop.gateway.v1.GatewayService/SignUp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `footprint-${randomBytes(4).toString("hex")}@example.com`, password: `Wq${randomBytes(9).toString("base64url")}!7`, displayName: "Footprint" }),
      signal: AbortSignal.timeout(10_000),
    }).catch((err: Error) => ({ status: 0, text: async () => err.message }));
    const text = await res.text();
    const token = res.status === 200 ? (JSON.parse(text) as { accessToken?: string }).accessToken : undefined;
    if (token !== undefined) return token;
    last = `${res.status} ${text.slice(0, 200)}`;
    await sleep(200);
  }
  throw new Error(`sign-up through the gateway failed for ${timeoutMs} ms: ${last}`);
}

/** True when process `pid` catches SIGUSR2 (the reporter is loaded): any other process would die of it. */
function catchesUsr2(pid: number): boolean {
  try {
    const caught = /^SigCgt:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return caught !== undefined && (BigInt(`0x${caught}`) & (1n << 11n)) !== 0n;
  } catch {
    return false;
  }
}

/** Reads the memory of every process in `pids` (V8's view through SIGUSR2 and the report folder). */
async function readAll(pids: readonly number[], reportDir: string): Promise<Map<number, MemoryReading>> {
  const asked = pids.filter(catchesUsr2);
  for (const pid of asked) {
    rmSync(join(reportDir, `${pid}.json`), { force: true });
    process.kill(pid, "SIGUSR2");
  }
  const readings = new Map<number, MemoryReading>();
  for (const pid of pids) {
    const memory = processMemory(pid);
    if (memory !== undefined) readings.set(pid, { memory, regions: memoryRegions(pid), v8: undefined });
  }
  const deadline = Date.now() + 3_000;
  for (const pid of asked) {
    const file = join(reportDir, `${pid}.json`);
    while (!existsSync(file) && Date.now() < deadline) await sleep(20);
    const reading = readings.get(pid);
    if (reading === undefined || !existsSync(file)) continue;
    try {
      readings.set(pid, { ...reading, v8: JSON.parse(readFileSync(file, "utf8")) as V8MemoryReport });
    } catch {
      // Read while being written: this reading goes without V8's view.
    }
  }
  return readings;
}

/** The fields of a service's "<name> listening" log line, or undefined for any other line. */
function listeningLine(line: string): { name: string; instanceId: string; address: string; startup: Record<string, unknown> | undefined } | undefined {
  const json = line.indexOf("{");
  if (json < 0 || !line.includes(" listening\"")) return undefined;
  try {
    const fields = JSON.parse(line.slice(json)) as { message?: string; instanceId?: string; address?: string; startupMs?: Record<string, unknown> };
    const name = /^(\w+) listening$/.exec(fields.message ?? "")?.[1];
    return name === undefined || fields.instanceId === undefined ? undefined : { name, instanceId: fields.instanceId, address: fields.address ?? "", startup: fields.startupMs };
  } catch {
    return undefined;
  }
}

/**
 * Starts one more instance like process `pid` (its command line and environment, a new instance id and
 * any free port) while the others idle, waits for its "listening" line, then stops it (SIGTERM: it drains).
 */
async function startOneMore(pid: number, root: string): Promise<SoloStart> {
  const [command, ...args] = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
  const env = Object.fromEntries(readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((e) => e.includes("=")).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  const child = spawn(command!, args, { cwd: root, env: { ...env, INSTANCE_ID: `${env.INSTANCE_ID}-solo`, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  try {
    return await new Promise<SoloStart>((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        for (const line of out.split("\n")) {
          const listened = listeningLine(line);
          if (listened !== undefined) resolve({ name: listened.name, startup: listened.startup });
        }
      });
      child.stderr!.on("data", (chunk: Buffer) => (out = (out + chunk.toString()).slice(-4000)));
      child.once("exit", (code) => reject(new Error(`${args.at(-1)} exited (code ${code}) before listening:\n${out.slice(-2000)}`)));
      setTimeout(() => reject(new Error(`${args.at(-1)} did not listen within 30 s:\n${out.slice(-2000)}`)), 30_000).unref();
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

function instanceIdOf(pid: number): string {
  try {
    return /(?:^|\0)INSTANCE_ID=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, "utf8"))?.[1] ?? String(pid);
  } catch {
    return String(pid);
  }
}

/**
 * Starts `npm run start:distributed` (default instances, mutual TLS), reads every process idle, loads
 * the gateway for `loadSeconds`, then reads every process again at the end and at each settle point.
 */
export async function measureShop(options: MeasureShopOptions): Promise<{ processes: ShopProcess[]; load: CallLoad[]; solo: SoloStart[] }> {
  const reportDir = mkdtempSync(join(tmpdir(), "weft-footprint-v8-"));
  const reporter = join(options.root, "bench/footprint/memory-reporter.ts");
  const suffix = randomBytes(3).toString("hex");
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    NODE_OPTIONS: [options.env.NODE_OPTIONS, `--import=${reporter}`].filter(Boolean).join(" "),
    WEFT_FOOTPRINT_REPORT_DIR: reportDir,
    // One address sends all the load: the gateway's per-client limits would refuse most of it.
    GATEWAY_RATE_LIMITS: "off",
    // Subjects of this run only: another shop on the same NATS must not answer its calls.
    MESH_EVENTS_PREFIX: `footprint${suffix}`,
    MESH_RPC_PREFIX: `weft.rpc.footprint${suffix}`,
    MESH_REGISTRY_PREFIX: `weft.registry.footprint${suffix}`,
  };
  const launcher = spawn(process.execPath, [join(options.root, "scripts/start-distributed.ts"), "--gateway-port", "0"], { cwd: options.root, env, stdio: ["ignore", "pipe", "pipe"] });
  const expected = SHOP_SERVICES.reduce((n, s) => n + s.defaultInstances, 0);
  const listening = new Map<string, NonNullable<ReturnType<typeof listeningLine>>>();
  let log = "";
  let buffered = "";
  const keep = options.logFile === undefined ? undefined : createWriteStream(options.logFile);
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      keep?.write(chunk);
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const listened = listeningLine(line);
        if (listened !== undefined) listening.set(listened.instanceId, listened);
      }
      if (listening.size >= expected) resolve();
    };
    launcher.stdout!.on("data", onData);
    launcher.stderr!.on("data", onData);
    launcher.once("exit", (code) => reject(new Error(`npm run start:distributed exited (code ${code}) before every instance listened:\n${log}`)));
    setTimeout(() => reject(new Error(`not every instance listened within 60 s (${listening.size} of ${expected}):\n${log}`)), 60_000).unref();
  });
  try {
    await ready;
    await sleep(options.idleWaitMs);
    const pids = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    const ids = new Map(pids.map((pid) => [pid, instanceIdOf(pid)]));
    const idle = await readAll(pids, reportDir);
    // Start-up alone: one more instance of each service while the shop idles (a scale-out by one).
    const solo: SoloStart[] = [];
    for (const name of [...new Set([...listening.values()].map((l) => l.name))]) {
      const pid = pids.find((p) => listening.get(ids.get(p)!)?.name === name);
      if (pid !== undefined) solo.push(await startOneMore(pid, options.root));
    }
    options.progress(`started one more instance of each service: ${solo.map((s) => `${s.name} ${s.startup?.readyMs ?? "?"} ms`).join(", ")}`);
    const load: CallLoad[] = [];
    let afterLoad = new Map<number, MemoryReading>();
    const settled: { afterMs: number; readings: Map<number, MemoryReading> }[] = [];
    if (options.loadSeconds > 0) {
      const gateway = [...listening.values()].find((l) => l.name === "gateway");
      if (gateway === undefined) throw new Error("no gateway listened");
      const base = `http://${gateway.address}`;
      const token = await signUp(base, 30_000);
      const calls = loadCalls(base, token);
      const seconds = Math.max(1, Math.round(options.loadSeconds / calls.length));
      for (const { call, spec } of calls) {
        const cmd = pinned(LOAD_CORE, process.execPath, [join(options.root, "bench/shop/load.ts"), JSON.stringify({ ...spec, connections: options.connections, warmupSeconds: 0, maxWarmupSeconds: 0, seconds })]);
        const done = await runToCompletion(cmd.command, cmd.args, { timeoutMs: seconds * 1000 + 60_000 });
        const r = JSON.parse(done.stdout.trim().split("\n").pop() || "{}") as { requests?: number; verified?: number; shed?: number; failed?: number; errors?: number; timeouts?: number };
        load.push({ call, seconds, requests: r.requests ?? 0, verified: r.verified ?? 0, shed: r.shed ?? 0, failed: (r.failed ?? 0) + (r.errors ?? 0) + (r.timeouts ?? 0) });
        options.progress(`load ${call}: ${r.verified ?? 0} verified of ${r.requests ?? 0} in ${seconds} s`);
      }
      const ended = performance.now();
      afterLoad = await readAll(pids, reportDir);
      for (const afterMs of options.settleMs) {
        await sleep(Math.max(0, afterMs - (performance.now() - ended)));
        settled.push({ afterMs, readings: await readAll(pids, reportDir) });
        options.progress(`read every process ${afterMs / 1000} s after the load`);
      }
    }
    const processes = pids.flatMap((pid): ShopProcess[] => {
      const reading = idle.get(pid);
      const instanceId = ids.get(pid)!;
      const listened = listening.get(instanceId);
      if (reading === undefined || listened === undefined) return [];
      return [{
        name: listened.name,
        instanceId,
        startup: listened.startup,
        idle: reading,
        afterLoad: afterLoad.get(pid),
        settled: settled.flatMap((s) => {
          const r = s.readings.get(pid);
          return r === undefined ? [] : [{ afterMs: s.afterMs, reading: r }];
        }),
      }];
    }).sort((a, b) => a.name.localeCompare(b.name) || a.instanceId.localeCompare(b.instanceId));
    return { processes, load, solo };
  } finally {
    launcher.kill("SIGINT");
    if (launcher.exitCode === null && launcher.signalCode === null) await new Promise((resolve) => launcher.once("exit", resolve));
    rmSync(reportDir, { recursive: true, force: true });
    keep?.end();
    // The run's streams go with it: left on the shared NATS server, every run would add its own.
    await deleteEventStreams([`footprint${suffix}`]);
  }
}
