// The weft CLI against `npm start` (one process, the admin API on its port): every verb, --json parsed,
// RED figures that rise under a bounded load, `weft top` read back from a real terminal (tmux), and bad
// input (unknown method, malformed JSON, unreachable mesh, no operator token) with clear messages and
// the documented exit codes.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createWeftConnectTransport } from "../../mesh/transport/index.ts";
import { freePort } from "../support/free-port.ts";
import { repo, startShop, weft, WEFT_BIN, type RunningShop } from "./cli-helpers.ts";

const token = randomBytes(18).toString("base64url");
const env = { WEFT_ADMIN_TOKEN: token };
let shop: RunningShop;

beforeAll(async () => {
  shop = await startShop(token);
}, 90_000);
afterAll(async () => {
  await shop?.stop();
});

/** A bounded load through the gateway (which calls catalog and inventory in process). */
async function browse(count: number): Promise<void> {
  const transport = createWeftConnectTransport({ baseUrl: shop.url });
  const gateway = createClient(GatewayService, transport);
  try {
    for (let i = 0; i < count; i++) await gateway.browse({ query: "kettle", pageSize: 2 });
  } finally {
    transport.close();
  }
}

interface StatRow {
  service: string;
  method: string;
  rate: number;
  calls: number;
  errorRate: number;
  p99Ms: number;
}

describe("weft against npm start", () => {
  it("ls lists the one instance with the shop's services, ready", async () => {
    const run = await weft(["ls", "--url", shop.url, "--json"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const instances = JSON.parse(run.stdout) as { instanceId: string; ready: boolean; services: { name: string; serving: boolean }[] }[];
    expect(instances).toHaveLength(1);
    expect(instances[0].ready).toBe(true);
    expect(instances[0].services.map((s) => s.name)).toContain("shop.gateway.v1.GatewayService");
    const text = await weft(["ls", "--url", shop.url], env);
    expect(text.stdout).toMatch(/^INSTANCE\s+SERVICES/);
    expect(text.stdout).not.toContain("\x1b["); // no colours off a terminal
  });

  it("stat and edges: the figures rise under a bounded load, and the edges show who called whom", async () => {
    const before = JSON.parse((await weft(["stat", "--url", shop.url, "--json"], env)).stdout) as { methods: StatRow[] };
    const callsOf = (rows: StatRow[], method: string) => rows.find((r) => r.method === method)?.calls ?? 0;
    await browse(40);
    const after = JSON.parse((await weft(["stat", "--url", shop.url, "--json", "--window", "60"], env)).stdout) as { methods: StatRow[] };
    expect(callsOf(after.methods, "Browse") - callsOf(before.methods, "Browse")).toBe(40);
    const row = after.methods.find((r) => r.method === "Browse")!;
    expect(row.rate).toBeGreaterThan(0);
    expect(row.errorRate).toBe(0);
    expect(row.p99Ms).toBeGreaterThan(0);
    expect(callsOf(after.methods, "SearchProducts")).toBeGreaterThanOrEqual(40);

    const edges = JSON.parse((await weft(["edges", "--url", shop.url, "--json"], env)).stdout) as { edges: { caller: string; service: string; calls: number }[] };
    const edge = (from: string, to: string) => edges.edges.find((e) => e.caller === from && e.service === to);
    expect(edge("shop.gateway.v1.GatewayService", "shop.catalog.v1.CatalogService")?.calls).toBeGreaterThanOrEqual(40);
    expect(edge("(outside)", "shop.gateway.v1.GatewayService")?.calls).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it("describe lists services and a method's fields", async () => {
    const services = JSON.parse((await weft(["describe", "--url", shop.url, "--json"], env)).stdout) as { service: string; methods: { name: string }[] }[];
    expect(services.find((s) => s.service === "shop.gateway.v1.GatewayService")?.methods.map((m) => m.name)).toContain("Browse");
    const method = JSON.parse((await weft(["describe", "GatewayService/Browse", "--url", shop.url, "--json"], env)).stdout) as { input: string; inputFields: { name: string }[] };
    expect(method.input).toBe("shop.gateway.v1.BrowseRequest");
    expect(method.inputFields.map((f) => f.name)).toContain("query");
  });

  it("call: JSON from the argument or stdin, over each protocol; a failed call prints its code (exit 1)", async () => {
    for (const protocol of ["connect", "grpc", "grpc-web"]) {
      const run = await weft(["call", "shop.gateway.v1.GatewayService/Browse", '{"query":"kettle","pageSize":2}', "--url", shop.url, "--protocol", protocol, "-H", "x-test: 1", "--deadline", "10000"], env);
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { products: unknown[] }).products.length).toBeGreaterThan(0);
    }
    const piped = await weft(["call", "GatewayService/Browse", "--url", shop.url], env, '{"query":"kettle","pageSize":1}');
    expect(piped.code).toBe(0);
    expect((JSON.parse(piped.stdout) as { products: unknown[] }).products).toHaveLength(1);
    // Catalog is not public: the shop's policies refuse an anonymous caller.
    const refused = await weft(["call", "CatalogService/GetProduct", '{"id":"prod-0001"}', "--url", shop.url], env);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe("Unauthenticated");
  }, 60_000);

  it("bad input: unknown method, malformed JSON, wrong fields, unknown verb (exit 2)", async () => {
    const unknown = await weft(["call", "shop.nope.v1.Nope/Nothing", "{}", "--url", shop.url], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown method "shop\.nope\.v1\.Nope\/Nothing"/);
    const malformed = await weft(["call", "GatewayService/Browse", "{query:", "--url", shop.url], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/the request is not JSON/);
    const misfit = await weft(["call", "GatewayService/Browse", '{"colour":"red"}', "--url", shop.url], env);
    expect(misfit.code).toBe(2);
    expect(misfit.stderr).toMatch(/does not fit shop\.gateway\.v1\.BrowseRequest/);
    const verb = await weft(["frobnicate"], env);
    expect(verb.code).toBe(2);
    expect(verb.stderr).toMatch(/unknown verb "frobnicate"/);
    const flag = await weft(["ls", "--colour"], env);
    expect(flag.code).toBe(2);
  });

  it("an unreachable mesh and a missing operator token: a clear message, exit 3", async () => {
    const port = await freePort();
    const down = await weft(["ls", "--url", `http://127.0.0.1:${port}`], env);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot reach the mesh at http:\/\/127\.0\.0\.1:\d+/);
    const noNats = await weft(["ls", "--nats", `nats://127.0.0.1:${port}`], env);
    expect(noNats.code).toBe(3);
    expect(noNats.stderr).toMatch(/cannot reach NATS/);
    const anonymous = await weft(["ls", "--url", shop.url], { WEFT_ADMIN_TOKEN: "" });
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toMatch(/refused this CLI \(Unauthenticated\)/);
  });

  it("events report says the one-process shop has no JetStream", async () => {
    const run = await weft(["events", "report", "--url", shop.url, "--json"], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ available: false });
  });

  it("top refreshes in place in a terminal (tmux), shows the load's methods, and quits on q", async () => {
    const session = `weft-top-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
    const command = `cd ${repo} && WEFT_ADMIN_TOKEN=${token} ${process.execPath} ${WEFT_BIN} top --url ${shop.url} --window 30; echo WEFT-EXIT=$?; sleep 60`;
    tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "40", command);
    try {
      const screen = () => tmux("capture-pane", "-p", "-t", session);
      const until = async (check: (text: string) => boolean, what: string) => {
        const deadline = Date.now() + 30_000;
        while (!check(screen())) {
          if (Date.now() > deadline) throw new Error(`${what}; the screen:\n${screen()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until((s) => s.includes("weft top"), "top did not draw");
      await browse(20);
      await until((s) => /GatewayService\s+Browse\s+\d/.test(s), "the load's method did not appear");
      const text = screen();
      // Refreshed in place: one header on the screen, not one per refresh.
      expect(text.match(/weft top/g)).toHaveLength(1);
      expect(text).toMatch(/CatalogService\s+SearchProducts/);
      tmux("send-keys", "-t", session, "q");
      await until((s) => s.includes("WEFT-EXIT=0"), "top did not quit on q");
    } finally {
      execFileSync("tmux", ["kill-session", "-t", session]);
    }
  }, 90_000);
});
