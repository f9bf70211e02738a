// `npm run start:distributed`: the reference shop in distributed mode on this machine: N processes per
// service, each on its own port, found through NATS discovery, calling each other over HTTP/2 (or
// Connect over NATS with --transport nats).
//
// The services, their default instance counts and public ports come from services/manifest.ts; --help
// prints them. Ctrl-C / SIGTERM drains every process (each leaves discovery first; callers before the
// services they call) and exits 0 when every process drained, 1 otherwise; a second Ctrl-C (after a
// second) stops them all at once and exits 130.
//
// Services call each other over mutual TLS with the development credentials in WEFT_CERTS_DIR (default
// .certs/, made by `npm run certs` when missing), and each enforces its policy (docs/security.md).
// With --transport nats the launcher starts its own nats-server on a free port, configured from the
// policies (scripts/mesh-nats.ts): each service connects as its own nkey user (seeds in
// <certs>/nats/), so the broker vouches for every caller. --insecure runs without any of it.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { readCommandLine, runMain } from "../mesh/errors/index.ts";
import { onShutdownSignals, readLogLevel, SERVICE_NODE_FLAGS, serviceCompileCacheEnv } from "../mesh/host/index.ts";
import { readMeshNodeConfig } from "../mesh/node/index.ts";
import { SHOP_SERVICES, type ServiceManifestEntry } from "../services/manifest.ts";
import { newSigningKeysSetting } from "../services/identity/signing-keys.ts";
import { loadShopPolicies, OPERATOR_WORKLOAD } from "../services/shop-security.ts";
import { meshNatsUsers, startMeshNats, type MeshNats, type MeshNatsUsers } from "./mesh-nats.ts";
import { startShopClusters, type ShopClusters } from "./cluster/shop-clusters.ts";
import pg from "pg";
import { OrdersDatabaseError } from "../services/shared/index.ts";
import { splitPostgresHosts } from "../services/orders/primary-pool.ts";

const SERVICES = SHOP_SERVICES.map((s) => s.name);
/** The PostgreSQL that `scripts/dev-services.sh` starts: distributed orders share it unless DATABASE_URL says otherwise. */
const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/weft";
/** How long the start-up check waits for PostgreSQL to answer. */
const DATABASE_CHECK_TIMEOUT_MS = 5_000;
const PUBLIC = SHOP_SERVICES.filter((s) => s.port !== undefined);

function fail(message: string): never {
  console.error(`WEFT_ERR_MESH_CONFIG: ${message}`);
  process.exit(1);
}

const { values } = readCommandLine({
  usage: "npm run start:distributed -- [flags]   (node scripts/start-distributed.ts)",
  summary: `Runs the shop as one process per service instance, found through NATS discovery.
Services (services/manifest.ts), default instances:
${SHOP_SERVICES.map((s) => `  ${s.name.padEnd(12)} x${s.defaultInstances}  ${s.exposure}${s.port ? `, port ${s.port.default} (${s.port.env})` : ""}`).join("\n")}

--transport nats (secure unless --insecure) starts a nats-server of its own on a free port, configured
from the policies, each service connecting as its own NATS user; NATS_URL is then not used.
--cluster starts, on loopback (scripts/cluster), a 3-node NATS cluster (routes and JetStream; event
streams with 3 replicas; with --transport nats, secure, its nodes carry the policies' users), Redis with
Sentinel (a primary, 2 replicas, 3 sentinels) and a PostgreSQL primary with a synchronous standby, and
points every service at all of them; they stop with the shop. NATS_URL, REDIS_URL and DATABASE_URL are
then not used.`,
  flags: {
    instances: { type: "string", valueName: `${SERVICES[0]}=N,...`, defaultText: SHOP_SERVICES.map((s) => `${s.name}=${s.defaultInstances}`).join(","), description: "instances per service (INSTANCES)" },
    transport: { type: "string", valueName: "grpc|nats", defaultText: "grpc", description: "how services call each other (MESH_TRANSPORT); nats starts a nats-server with users from the policies" },
    insecure: { type: "boolean", default: false, description: "no mutual TLS and no authorization (development only)" },
    cluster: { type: "boolean", default: false, description: "run on clusters started on loopback: 3-node NATS (3-replica streams), Redis with Sentinel, PostgreSQL with a standby" },
    ...Object.fromEntries(PUBLIC.map((s) => [`${s.name}-port`, { type: "string" as const, valueName: "PORT", defaultText: String(s.port!.default), description: `first ${s.name} port, one more per instance; 0 = free ports (${s.port!.env})` }])),
  },
  env: [
    { name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS servers of discovery, events and Connect over NATS" },
    { name: "REDIS_URL", defaultText: "unset (state in memory)", description: "caches and state in Redis, so every service can run several instances" },
    { name: "DATABASE_URL", defaultText: DEFAULT_DATABASE_URL, description: "PostgreSQL for orders and their outbox, shared by every orders instance (the server scripts/dev-services.sh starts); set it empty to keep orders in Redis (REDIS_URL) or memory" },
    { name: "INSTANCES", description: "like --instances" },
    { name: "MESH_TRANSPORT", defaultText: "grpc", description: "like --transport" },
    ...PUBLIC.map((s) => ({ name: s.port!.env, defaultText: String(s.port!.default), description: `like --${s.name}-port` })),
    { name: "IDENTITY_SIGNING_KEYS", defaultText: "one new ES256 key, given to the identity processes", description: "access-token signing keys (a JWKS of private keys; npm run keys:signing)" },
    { name: "CATALOG_PAGE_TOKEN_SECRET", defaultText: "one random key, shared", description: "page-token key of every catalog instance" },
    { name: "WEFT_CERTS_DIR", defaultText: ".certs/", description: "development credentials for mutual TLS, made on first use" },
    { name: "MESH_TRUST_DOMAIN", defaultText: "weft.local", description: "trust domain of the policies the --transport nats server's permissions come from" },
    { name: "MESH_RPC_PREFIX", defaultText: "weft.rpc", description: "subjects of Connect over NATS (also in that server's permissions)" },
    { name: "MESH_REGISTRY_PREFIX", defaultText: "weft.registry", description: "subjects of discovery (also in that server's permissions)" },
    { name: "MESH_EVENTS_PREFIX", defaultText: "none", description: "prefix of the event streams' subjects (also in that server's permissions)" },
    { name: "LOG_LEVEL", defaultText: "info", description: "passed to every process, as are MESH_*, OTEL_* and WEFT_METRICS (node_modules/.bin/node services/<name>/main.ts --help)" },
  ],
  notes: "Ctrl-C or SIGTERM drains every process (callers first) and exits 0 when all drained; a second one\nmore than a second later stops them at once (exit 130).",
});

const counts = new Map(SHOP_SERVICES.map((s) => [s.name, s.defaultInstances]));
// Errors name the setting as the user gave it: the flag, or the environment variable.
const instancesSetting = values.instances !== undefined ? "--instances" : "INSTANCES";
for (const part of (values.instances ?? process.env.INSTANCES ?? "").split(",").filter((p) => p.trim() !== "")) {
  const [name, n] = part.split("=").map((s) => s.trim());
  if (!counts.has(name)) fail(`${instancesSetting}: unknown service ${JSON.stringify(name)} (one of ${SERVICES.join(", ")})`);
  if (!/^\d+$/.test(n ?? "") || Number(n) > 32) fail(`${instancesSetting}: ${name} needs a count from 0 to 32, got ${JSON.stringify(n)}`);
  counts.set(name, Number(n));
}
const ports = new Map<string, number>();
for (const s of PUBLIC) {
  const flag = (values as Record<string, unknown>)[`${s.name}-port`];
  const setting = flag !== undefined ? `--${s.name}-port` : s.port!.env;
  const value = String(flag ?? process.env[s.port!.env] ?? s.port!.default);
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) fail(`${setting} must be a port number (0 = any free port), got ${JSON.stringify(value)}`);
  ports.set(s.name, port);
}
const transport = values.transport ?? process.env.MESH_TRANSPORT ?? "grpc";
if (transport !== "grpc" && transport !== "nats") {
  fail(`${values.transport !== undefined ? "--transport" : "MESH_TRANSPORT"} must be "grpc" or "nats", got ${JSON.stringify(transport)}`);
}
// Orders replicas share one PostgreSQL (and its outbox) by default; an empty DATABASE_URL opts out.
const databaseUrl = (process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL).trim();
for (const s of SHOP_SERVICES) {
  const n = counts.get(s.name)!;
  const sharedStore = values.cluster || process.env.REDIS_URL || (s.name === "orders" && databaseUrl);
  if (s.statefulWithoutRedis && n > 1 && !sharedStore) {
    console.warn(`warning: without REDIS_URL ${s.name} keeps its state in memory; its ${n} instances will not share it`);
  }
}

// Every process would refuse a bad LOG_LEVEL, MESH_*, OTEL_* or WEFT_METRICS alike: say it once, before starting any.
await runMain(() => readLogLevel(process.env) && readMeshNodeConfig({ ...process.env, PORT: "0", INSTANCE_ID: "", MESH_TLS_DIR: "", MESH_TRANSPORT: transport }, "launcher"));
// Said once, before any process starts, rather than by every orders instance as it exits.
// (--cluster starts a PostgreSQL of its own.)
if (counts.get("orders")! > 0 && databaseUrl !== "" && !values.cluster) await runMain(() => requirePostgres(databaseUrl));

/**
 * Connects to `url` once (to any of its hosts, when it lists a primary and its standbys); no host answering
 * is WEFT_ERR_ORDERS_DATABASE naming where to start one.
 */
async function requirePostgres(url: string): Promise<void> {
  const where: string[] = [];
  let lastCode = "";
  for (const hostUrl of splitPostgresHosts(url)) {
    try {
      const parsed = new URL(hostUrl);
      where.push(`${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`);
    } catch {
      throw new OrdersDatabaseError(`DATABASE_URL is not a URL, set it to e.g. ${DEFAULT_DATABASE_URL} (or empty to keep orders in Redis or memory)`);
    }
    const client = new pg.Client({ connectionString: hostUrl, connectionTimeoutMillis: DATABASE_CHECK_TIMEOUT_MS });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (err) {
      lastCode = (err as { code?: string }).code ?? (err as Error).message;
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new OrdersDatabaseError(
    `PostgreSQL at DATABASE_URL (${where.join(", ")}) did not answer (${lastCode}): distributed orders share it; start it with \`bash scripts/dev-services.sh\`, set DATABASE_URL to a running server, or set it empty to keep orders in Redis (REDIS_URL) or memory`,
  );
}

const secure = !values.insecure;
if (!secure) console.warn("warning: --insecure: services run without mutual TLS and authorization; any caller is trusted");
const certsDir = resolve(process.env.WEFT_CERTS_DIR ?? new URL("../.certs", import.meta.url).pathname);
// The operators' folder (weft --tls-dir <certs>/operator) is made with the services' (older folders lack it).
if (secure && (SHOP_SERVICES.some((s) => counts.get(s.name)! > 0 && !existsSync(join(certsDir, s.name, "tls.crt"))) || !existsSync(join(certsDir, OPERATOR_WORKLOAD, "tls.crt")))) {
  // Development credentials on first use (the same as `npm run certs`).
  const made = spawnSync(process.execPath, [new URL("./certs.ts", import.meta.url).pathname, "--dir", certsDir], { stdio: "inherit" });
  if (made.status !== 0) fail(`could not make development credentials in ${certsDir} (npm run certs)`);
}

const natsSubjects = { rpcPrefix: process.env.MESH_RPC_PREFIX?.trim() || undefined, registryPrefix: process.env.MESH_REGISTRY_PREFIX?.trim() || undefined, eventsPrefix: process.env.MESH_EVENTS_PREFIX?.trim() || undefined };
let clusters: ShopClusters | undefined;
// Secure Connect over NATS on the cluster: every node carries the users and permissions of the policies.
let clusterNatsUsers: MeshNatsUsers | undefined;
if (values.cluster) {
  try {
    if (secure && transport === "nats") {
      clusterNatsUsers = await meshNatsUsers({ table: await loadShopPolicies(process.env.MESH_TRUST_DOMAIN?.trim() || undefined), credentialsDir: join(certsDir, "nats"), subjects: natsSubjects });
    }
    clusters = await startShopClusters({ natsAuthorization: clusterNatsUsers?.authorization });
  } catch (err) {
    fail(`could not start the clusters for --cluster: ${(err as Error).message.split("\n")[0]}`);
  }
  // The nodes run in their own process groups: whatever way this process ends, they end with it.
  process.once("exit", () => clusters?.kill());
}

// Connect over NATS is secure only on a broker that enforces the policies: the shared development
// server has no users, so this run gets a server of its own.
let meshNats: MeshNats | undefined;
if (secure && transport === "nats" && clusters === undefined) {
  try {
    meshNats = await startMeshNats({
      table: await loadShopPolicies(process.env.MESH_TRUST_DOMAIN?.trim() || undefined),
      credentialsDir: join(certsDir, "nats"),
      subjects: natsSubjects,
    });
  } catch (err) {
    fail(`could not start the mesh's nats-server for --transport nats: ${(err as Error).message.split("\n")[0]}`);
  }
}

const env: NodeJS.ProcessEnv & { NATS_URL: string; DATABASE_URL: string } = {
  ...process.env,
  NATS_URL: meshNats?.url ?? process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  DATABASE_URL: databaseUrl,
  // --cluster: its NATS, Redis and PostgreSQL instead.
  ...clusters?.env,
  IDENTITY_SIGNING_KEYS: process.env.IDENTITY_SIGNING_KEYS ?? (await newSigningKeysSetting()),
  CATALOG_PAGE_TOKEN_SECRET: process.env.CATALOG_PAGE_TOKEN_SECRET ?? randomBytes(32).toString("base64url"),
  MESH_TRANSPORT: transport,
  // Warm starts skip type stripping: less memory per process and a faster start.
  ...serviceCompileCacheEnv(process.env),
};
const { IDENTITY_SIGNING_KEYS: _signingKeys, ...sharedEnv } = env;
/** Each workload's NATS user, when a server of this run enforces the policies. */
const natsSeedFile = meshNats?.seedFile ?? clusterNatsUsers?.seedFile;

/** The order of a drain: callers before the services they call, so no in-flight call loses its downstream. */
const DRAIN_ORDER: readonly (readonly string[])[] = [["gateway"], ["orders"], SERVICES.filter((s) => s !== "gateway" && s !== "orders")];

interface Child {
  readonly service: string;
  readonly label: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
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

function start(service: ServiceManifestEntry, index: number): Child {
  const name = service.name;
  const label = `${name}#${index + 1}`;
  const first = ports.get(name) ?? 0;
  const port = first !== 0 ? first + index : 0;
  // Each service process runs with the flags for a process that has a core to itself (gc-tuning.ts).
  const proc = spawn(process.execPath, [...SERVICE_NODE_FLAGS, new URL(`../${service.main}`, import.meta.url).pathname], {
    // Only identity gets the private signing keys.
    env: { ...sharedEnv, ...(name === "identity" ? { IDENTITY_SIGNING_KEYS: env.IDENTITY_SIGNING_KEYS } : {}), PORT: String(port), INSTANCE_ID: `${name}-${index + 1}-${randomBytes(2).toString("hex")}`, ...(secure ? { MESH_TLS_DIR: join(certsDir, name) } : {}), ...(natsSeedFile ? { MESH_NATS_NKEY_FILE: natsSeedFile(name) } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a terminal's Ctrl-C reaches the launcher only, which drains in DRAIN_ORDER.
    detached: true,
  });
  prefixLines(label, proc.stdout!, process.stdout);
  prefixLines(label, proc.stderr!, process.stderr);
  const exited = new Promise<number | null>((resolve) => {
    proc.on("exit", (code, signal) => {
      resolve(code);
      if (stopping) return;
      // One process that cannot start (port taken, NATS down) takes the others down: no half a shop.
      // The drain below then exits 1, since this child's code is not 0.
      console.error(`[${label}] exited unexpectedly (code ${code}, signal ${signal}); stopping the others`);
      process.kill(process.pid, "SIGTERM");
    });
  });
  return { service: name, label, proc, exited };
}

for (const s of SHOP_SERVICES) for (let i = 0; i < counts.get(s.name)!; i++) children.push(start(s, i));

// One rule for the process group (mesh/host/drain.ts): the first SIGINT/SIGTERM drains, tier by tier in
// DRAIN_ORDER, one SIGTERM per child (the children are in their own process groups, so a terminal's
// Ctrl-C does not reach them directly); a repeat within a second (npm forwards Ctrl-C again) is the same
// request; a later signal stops everything at once.
onShutdownSignals({
  signals: ["SIGINT", "SIGTERM", "SIGHUP"],
  onFirst(signal) {
    stopping = true;
    console.log(`\n${signal}: draining ${children.length} processes`);
    void (async () => {
      for (const tier of DRAIN_ORDER) {
        const draining = children.filter((c) => tier.includes(c.service));
        for (const c of draining) c.proc.kill("SIGTERM");
        await Promise.all(draining.map((c) => c.exited));
      }
      const codes = await Promise.all(children.map((c) => c.exited));
      await meshNats?.stop();
      await clusters?.stop();
      const failed = children.flatMap((c, i) => (codes[i] === 0 ? [] : [`${c.label} (exit ${codes[i] ?? "by signal"})`]));
      if (failed.length === 0) {
        console.log(`all ${children.length} processes drained`);
        process.exit(0);
      }
      console.error(`${failed.length} of ${children.length} processes did not drain: ${failed.join(", ")}`);
      process.exit(1);
    })();
  },
  onSecond(signal) {
    console.error(`${signal} again: stopping ${children.length} processes without waiting`);
    for (const c of children) c.proc.kill("SIGKILL");
    meshNats?.kill();
    clusters?.kill();
    process.exit(130);
  },
});

const summary = SERVICES.filter((s) => counts.get(s)! > 0).map((s) => `${s} x${counts.get(s)}`).join(", ");
const ordersUrl = clusters?.env.DATABASE_URL ?? databaseUrl;
const ordersText = `; orders ${ordersUrl === "" ? (env.REDIS_URL ? "in Redis" : "in memory") : `in PostgreSQL (${redactedUrl(ordersUrl)})`}`;
const natsText = clusters !== undefined ? "" : `; NATS ${env.NATS_URL}${meshNats ? " (started for this run, users and permissions from the policies)" : ""}`;
console.log(`Weft shop, distributed: ${summary}${ordersText}${natsText}; calls over ${transport}${secure ? ` with mutual TLS (${certsDir})` : ", INSECURE"}`);
for (const c of clusters?.clusters ?? []) console.log(`${c.summary} (started for this run)`);
if (secure) console.log(`operators: npx weft ls --nats ${env.NATS_URL} --tls-dir ${join(certsDir, OPERATOR_WORKLOAD)}${natsSeedFile ? ` --nats-nkey ${natsSeedFile(OPERATOR_WORKLOAD)}` : ""} (weft dash too)`);
for (const [name, first] of ports) {
  const n = counts.get(name)!;
  if (n > 0 && first !== 0) console.log(`${name}: ${Array.from({ length: n }, (_, i) => `http://127.0.0.1:${first + i}`).join(", ")}`);
}
console.log("storefront page: none in distributed mode (npm start serves it, with the whole shop in one process)");
console.log("Ctrl-C drains every process and exits.");

/** A database URL without its password, fit to print. */
function redactedUrl(url: string): string {
  // Not through URL: a primary and its standbys (`h1:5432,h2:5433`) are not one WHATWG URL.
  return url.replace(/^(\w+:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}
