// Every entry point fails at start-up the same way (issue 18): one line `WEFT_ERR_...: <what>, set
// <VARIABLE> to ...` on stderr, exit code 1, no stack trace. Each case spawns the real entry point with
// one bad setting; unreachable servers are free ports on 127.0.0.1 that nothing listens on.

import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Outcome {
  readonly code: number | null;
  readonly stderr: string;
}

function run(script: string, env: Record<string, string>, args: string[] = []): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "", ...env }, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stderr });
    });
  });
}

/** A port nothing listens on (bound, read, closed). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The stderr lines that are not JSON log lines (the logger writes JSON; the failure is plain text). */
function plainLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
}

function expectOneLine(outcome: Outcome, code: string, variable: string): void {
  expect(outcome.code, outcome.stderr).toBe(1);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
  const lines = plainLines(outcome.stderr);
  expect(lines, outcome.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${code}: .*, set ${variable} `));
  expect(outcome.stderr).not.toMatch(/ConnectionError|Unhandled error event|options\./);
}

describe("start-up failures: one line, a code, the variable, exit 1", () => {
  let busy: Server;
  let busyPort: number;
  let deadPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    busyPort = (busy.address() as { port: number }).port;
    deadPort = await freePort();
  });
  afterAll(() => busy.close());

  const shop = "services/start.ts";
  it("npm start: CORS_ORIGINS that is not an origin names the variable", async () => {
    expectOneLine(await run(shop, { WEB: "off", CORS_ORIGINS: "notanorigin" }), "WEFT_ERR_SHOP_CONFIG", "CORS_ORIGINS");
  });
  it("npm start: DATABASE_URL where no PostgreSQL answers names the variable", async () => {
    expectOneLine(await run(shop, { WEB: "off", COMPUTE: "inline", DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/weft` }), "WEFT_ERR_ORDERS_DATABASE", "DATABASE_URL");
  });
  it("npm start: a port in use", async () => {
    expectOneLine(await run(shop, { WEB: "off", COMPUTE: "inline", PORT: String(busyPort) }), "WEFT_ERR_HOST_LISTEN", "PORT");
  });
  it("npm start: IDENTITY_SIGNING_KEYS that is not a key set, and the retired IDENTITY_TOKEN_SECRET", async () => {
    expectOneLine(await run(shop, { WEB: "off", IDENTITY_SIGNING_KEYS: '{"keys":[]}' }), "WEFT_ERR_SHOP_CONFIG", "IDENTITY_SIGNING_KEYS");
    expectOneLine(await run(shop, { WEB: "off", IDENTITY_TOKEN_SECRET: "c2hvcnQ" }), "WEFT_ERR_SHOP_CONFIG", "IDENTITY_SIGNING_KEYS");
  });

  const catalog = "services/catalog/main.ts";
  it("a service main: NATS unreachable", async () => {
    expectOneLine(await run(catalog, { NATS_URL: `nats://127.0.0.1:${deadPort}` }), "WEFT_ERR_NATS_UNREACHABLE", "NATS_URL");
  });
  it("a service main: REDIS_URL that is not a URL fails at start", async () => {
    expectOneLine(await run(catalog, { REDIS_URL: "notaurl" }), "WEFT_ERR_MESH_CONFIG", "REDIS_URL");
  });
  it("a service main: a dead Redis, after a bounded wait", async () => {
    expectOneLine(await run("services/orders/main.ts", { REDIS_URL: `redis://127.0.0.1:${deadPort}` }), "WEFT_ERR_REDIS_NOT_READY", "REDIS_URL");
  });
  it("a service main: a port in use", async () => {
    expectOneLine(await run("services/gateway/main.ts", { PORT: String(busyPort) }), "WEFT_ERR_HOST_LISTEN", "PORT");
  });
  it("a service main: a bad HOST", async () => {
    expectOneLine(await run(catalog, { HOST: "999.1.1.1" }), "WEFT_ERR_HOST_LISTEN", "HOST");
  });
  it("a service main: a bad MESH_ setting", async () => {
    expectOneLine(await run(catalog, { MESH_HEARTBEAT_MS: "soon" }), "WEFT_ERR_MESH_CONFIG", "MESH_HEARTBEAT_MS");
  });
  it("identity: IDENTITY_SIGNING_KEYS that is not JSON", async () => {
    expectOneLine(await run("services/identity/main.ts", { IDENTITY_SIGNING_KEYS: "not-json" }), "WEFT_ERR_MESH_CONFIG", "IDENTITY_SIGNING_KEYS");
  });
  it("the launcher: a bad --instances", async () => {
    const outcome = await run("scripts/start-distributed.ts", {}, ["--instances", "catalog=many"]);
    expect(outcome.code).toBe(1);
    expect(plainLines(outcome.stderr)).toEqual([expect.stringMatching(/^WEFT_ERR_MESH_CONFIG: --instances: /)]);
  });
  it("a benchmark: NATS unreachable", async () => {
    expectOneLine(await run("bench/backends/events.ts", { NATS_URL: `nats://127.0.0.1:${deadPort}` }, ["10"]), "WEFT_ERR_NATS_UNREACHABLE", "NATS_URL");
  });
  it("a benchmark: a dead Redis", async () => {
    expectOneLine(await run("bench/backends/cache.ts", { REDIS_URL: `redis://127.0.0.1:${deadPort}` }, ["10"]), "WEFT_ERR_REDIS_NOT_READY", "REDIS_URL");
  });
  it("a service main: a bad LOG_LEVEL", async () => {
    expectOneLine(await run("services/inventory/main.ts", { LOG_LEVEL: "loud" }), "WEFT_ERR_TELEMETRY_CONFIG", "LOG_LEVEL");
  });
  it("the launcher: a bad LOG_LEVEL, said once before any process starts", async () => {
    const outcome = await run("scripts/start-distributed.ts", { LOG_LEVEL: "loud", WEFT_CERTS_DIR: "/nonexistent-weft-certs" });
    expectOneLine(outcome, "WEFT_ERR_TELEMETRY_CONFIG", "LOG_LEVEL");
    expect(outcome.stderr).not.toMatch(/\[\w+#\d\]/);
  });
  it("the launcher: orders' PostgreSQL (DATABASE_URL, else the dev-services one) not answering, said before any process starts", async () => {
    const outcome = await run("scripts/start-distributed.ts", { DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/weft`, WEFT_CERTS_DIR: "/nonexistent-weft-certs" });
    expectOneLine(outcome, "WEFT_ERR_ORDERS_DATABASE", "DATABASE_URL");
    expect(outcome.stderr).toMatch(/dev-services\.sh/);
    expect(outcome.stderr).not.toMatch(/\[\w+#\d\]/);
  });

  it("a benchmark: a flag that is not a number", async () => {
    expectOneLine(await run("bench/mesh/overload.ts", {}, ["--factor", "x"]), "WEFT_ERR_STARTUP", "--factor");
  });
  it("LOG_LEVEL=debug adds the stack", async () => {
    const outcome = await run(catalog, { NATS_URL: `nats://127.0.0.1:${deadPort}`, LOG_LEVEL: "debug" });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^WEFT_ERR_NATS_UNREACHABLE: /m);
    expect(outcome.stderr).toMatch(/\n\s+at /);
  });
});
