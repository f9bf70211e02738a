// `npm run start:distributed`: the reference shop in distributed mode on this machine: N processes per
// service, each on its own port, found through NATS discovery, calling each other over HTTP/2 (or
// Connect over NATS with --transport nats).
//
//   node scripts/start-distributed.ts [--instances catalog=2,gateway=2] [--gateway-port 8080]
//                                     [--transport grpc|nats]
//
// Environment: NATS_URL (default nats://127.0.0.1:4222), REDIS_URL (optional: catalog cache, stock,
// users and orders in Redis, so every service can run several instances),
// IDENTITY_TOKEN_SECRET and CATALOG_PAGE_TOKEN_SECRET (default: random keys shared by the processes), INSTANCES (same as
// --instances), plus every per-process variable of mesh/node (MESH_*), passed through.
// Ctrl-C / SIGTERM drains every process (each leaves discovery first) and exits.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { SERVICE_NODE_FLAGS } from "../mesh/host/gc-tuning.ts";

const SERVICES = ["catalog", "inventory", "identity", "orders", "gateway"] as const;
type ServiceName = (typeof SERVICES)[number];
/** Services whose state lives in the process unless REDIS_URL is set: more than one instance would split it. */
const STATEFUL: ReadonlySet<ServiceName> = new Set(["inventory", "identity", "orders"]);
const DEFAULT_INSTANCES: Record<ServiceName, number> = { catalog: 2, inventory: 1, identity: 1, orders: 1, gateway: 2 };

function fail(message: string): never {
  console.error(`WEFT_ERR_MESH_CONFIG: ${message}`);
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    instances: { type: "string" },
    "gateway-port": { type: "string" },
    transport: { type: "string" },
  },
});

const counts = { ...DEFAULT_INSTANCES };
for (const part of (values.instances ?? process.env.INSTANCES ?? "").split(",").filter((p) => p.trim() !== "")) {
  const [name, n] = part.split("=").map((s) => s.trim());
  if (!SERVICES.includes(name as ServiceName)) fail(`--instances: unknown service ${JSON.stringify(name)} (one of ${SERVICES.join(", ")})`);
  if (!/^\d+$/.test(n ?? "") || Number(n) > 32) fail(`--instances: ${name} needs a count from 0 to 32, got ${JSON.stringify(n)}`);
  counts[name as ServiceName] = Number(n);
}
const gatewayPort = Number(values["gateway-port"] ?? process.env.GATEWAY_PORT ?? 8080);
if (!Number.isInteger(gatewayPort) || gatewayPort < 0 || gatewayPort > 65535) fail("--gateway-port must be a port number (0 = any free port)");
const transport = values.transport ?? process.env.MESH_TRANSPORT ?? "grpc";
if (transport !== "grpc" && transport !== "nats") fail(`--transport must be "grpc" or "nats", got ${JSON.stringify(transport)}`);
for (const name of STATEFUL) {
  if (counts[name] > 1 && !process.env.REDIS_URL) {
    console.warn(`warning: without REDIS_URL ${name} keeps its state in memory; its ${counts[name]} instances will not share it`);
  }
}

const env = {
  ...process.env,
  NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  IDENTITY_TOKEN_SECRET: process.env.IDENTITY_TOKEN_SECRET ?? randomBytes(32).toString("base64url"),
  CATALOG_PAGE_TOKEN_SECRET: process.env.CATALOG_PAGE_TOKEN_SECRET ?? randomBytes(32).toString("base64url"),
  MESH_TRANSPORT: transport,
};

interface Child {
  readonly label: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
}
const children: Child[] = [];
let stopping = false;

function prefixLines(label: string, stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void {
  let buffered = "";
  stream.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      out.write(`[${label}] ${buffered.slice(0, nl)}\n`);
      buffered = buffered.slice(nl + 1);
    }
  });
}

function start(name: ServiceName, index: number): Child {
  const label = `${name}#${index + 1}`;
  const port = name === "gateway" && gatewayPort !== 0 ? gatewayPort + index : 0;
  // Each service process runs with the flags for a process that has a core to itself (gc-tuning.ts).
  const proc = spawn(process.execPath, [...SERVICE_NODE_FLAGS, new URL(`../services/${name}/main.ts`, import.meta.url).pathname], {
    env: { ...env, PORT: String(port), INSTANCE_ID: `${name}-${index + 1}-${randomBytes(2).toString("hex")}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  prefixLines(label, proc.stdout!, process.stdout);
  prefixLines(label, proc.stderr!, process.stderr);
  const exited = new Promise<void>((resolve) => {
    proc.on("exit", (code, signal) => {
      if (!stopping) console.error(`[${label}] exited unexpectedly (code ${code}, signal ${signal})`);
      resolve();
    });
  });
  return { label, proc, exited };
}

for (const name of SERVICES) for (let i = 0; i < counts[name]; i++) children.push(start(name, i));

function stopAll(signal: NodeJS.Signals): void {
  if (stopping) {
    for (const c of children) c.proc.kill("SIGKILL");
    return;
  }
  stopping = true;
  console.log(`\n${signal}: draining ${children.length} processes`);
  for (const c of children) c.proc.kill("SIGTERM");
  void Promise.all(children.map((c) => c.exited)).then(() => process.exit(0));
}
process.on("SIGINT", stopAll);
process.on("SIGTERM", stopAll);

const summary = SERVICES.filter((s) => counts[s] > 0).map((s) => `${s} x${counts[s]}`).join(", ");
console.log(`Weft shop, distributed: ${summary}; NATS ${env.NATS_URL}; calls over ${transport}`);
if (counts.gateway > 0 && gatewayPort !== 0) {
  const urls = Array.from({ length: counts.gateway }, (_, i) => `http://127.0.0.1:${gatewayPort + i}`);
  console.log(`gateway: ${urls.join(", ")}`);
}
console.log("Ctrl-C drains every process and exits.");
