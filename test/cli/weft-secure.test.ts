// The weft CLI and `weft dash` against a mesh under mutual TLS (a TestService process on mesh/node with
// MESH_TLS_DIR and policies, found through NATS discovery): with the operator's certificate folder every
// verb works and the dashboard shows the topology; without it, or with a workload's certificate that is
// not an operator's, the mesh refuses with a clear message and a non-zero exit.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { issueDevelopmentCredentials, writeCredentials } from "../../mesh/security/index.ts";
import { createWeftConnectTransport } from "../../mesh/transport/index.ts";
import { startInstance, stop, type TestInstance } from "../distributed/fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";
import { openBrowser, type RunningDash, startDash, waitForDrawn } from "../dash/dash-helpers.ts";
import { weft } from "./cli-helpers.ts";

const T = TestService.typeName;
const prefix = `weft.s${randomUUID().slice(0, 8)}.registry`;
let certs: string;
let instance: TestInstance;
const cli = (args: string[], tlsDir?: string) => weft([...args, "--nats", natsUrl(), "--registry-prefix", prefix, ...(tlsDir === undefined ? [] : ["--tls-dir", join(certs, tlsDir)])]);

beforeAll(async () => {
  certs = await mkdtemp(join(tmpdir(), "weft-cli-tls-"));
  // "test" serves TestService to the operators only; "edge" is a workload the shop's users come in through.
  const dev = issueDevelopmentCredentials({ trustDomain: "weft.local", services: ["test", "operator", "edge"] });
  for (const [name, credentials] of dev.workloads) await writeCredentials(join(certs, name), credentials);
  const policies = {
    test: { workload: "test", serves: [T], rules: [{ effect: "allow", methods: [`${T}/EmptyCall`, `${T}/UnaryCall`], callers: ["operator"] }] },
    operator: { workload: "operator", serves: [], rules: [], admin: "read" },
    edge: { workload: "edge", serves: [], rules: [] },
  };
  const files = await Promise.all(Object.entries(policies).map(async ([name, doc]) => {
    const file = join(certs, `${name}.policy.json`);
    await writeFile(file, JSON.stringify(doc));
    return file;
  }));
  instance = await startInstance("tls-a", { MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_HEARTBEAT_MS: "500", MESH_TLS_DIR: join(certs, "test"), TEST_POLICY_FILES: files.join(",") });
}, 120_000);

afterAll(async () => {
  if (instance !== undefined) await stop(instance.proc);
  await rm(certs, { recursive: true, force: true });
});

describe("weft --tls-dir against a mesh under mutual TLS", () => {
  it("ls, stat and call work with the operator's certificate", async () => {
    const ls = await cli(["ls", "--json"], "operator");
    expect(ls.code, ls.stderr).toBe(0);
    expect((JSON.parse(ls.stdout) as { instanceId: string }[]).map((i) => i.instanceId)).toEqual(["tls-a"]);
    for (const protocol of ["connect", "grpc", "grpc-web"]) {
      const call = await cli(["call", `${T}/EmptyCall`, "{}", "--protocol", protocol], "operator");
      expect(call.code, call.stderr).toBe(0);
      expect(JSON.parse(call.stdout)).toEqual({});
    }
    // A method no policy opens to the operators: the policy's refusal, printed with its code.
    const refused = await cli(["call", `${T}/CacheableUnaryCall`, "{}"], "operator");
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/permission_denied|PermissionDenied/i);
    const stat = await cli(["stat", "--json"], "operator");
    expect(stat.code, stat.stderr).toBe(0);
  }, 60_000);

  it("without the operator's certificate the mesh refuses: no certificate, or a workload's that is not an operator's", async () => {
    const none = await cli(["ls"]);
    expect(none.code, none.stderr).toBe(3);
    expect(none.stderr).toMatch(/--tls-dir/);
    const edge = await cli(["ls"], "edge");
    expect(edge.code, edge.stderr).toBe(3);
    expect(edge.stderr).toMatch(/PermissionDenied.*not an operator's/);
    // The admin API itself, called as the edge workload: PERMISSION_DENIED before any handler.
    const tls = dev("edge");
    const transport = createWeftConnectTransport({ baseUrl: `https://127.0.0.1:${instance.port}`, tls: { ...tls, checkServerIdentity: () => undefined } });
    try {
      const err = await createClient(AdminService, transport).getStatus({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.PermissionDenied);
    } finally {
      transport.close();
    }
  }, 60_000);
});

describe("weft dash --tls-dir against a mesh under mutual TLS", () => {
  let dash: RunningDash | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    await dash?.stop();
  });

  it("serves the page on 127.0.0.1 and shows the topology and the instance", async () => {
    dash = await startDash(["--nats", natsUrl(), "--registry-prefix", prefix, "--tls-dir", join(certs, "operator")], {});
    let page: Page;
    ({ browser, page } = await openBrowser());
    await page.goto(dash.url);
    await waitForDrawn(page, (d) => d.nodes.includes(T), "the TestService node", 30_000);
    await page.click("nav button[data-page=instances]");
    await page.waitForSelector('#instances tr[data-instance="tls-a"]', { timeout: 20_000 });
  }, 90_000);
});

/** A workload's credential files, as the transport's TLS options. */
function dev(name: string): { ca: string; cert: string; key: string } {
  const read = (file: string) => readFileSync(join(certs, name, file), "utf8");
  return { ca: read("ca.crt"), cert: read("tls.crt"), key: read("tls.key") };
}
