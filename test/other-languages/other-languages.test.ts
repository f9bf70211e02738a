// docs/calling-from-other-languages.md, run: a Go client (connect-go, Connect and gRPC) and a Python
// client (grpcio) with code generated from proto/ by buf call the shop's gateway on a free port. Skipped,
// with the reason, only where the toolchain is absent (Go, or python3 with venv).

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestShop } from "../shop/shop-fixture.ts";
import { buildGoClient, buildPythonClient, goMissing, pythonMissing } from "./toolchain.ts";

const run = promisify(execFile);
const BUILD_TIMEOUT_MS = 900_000;

const [noGo, noPython] = await Promise.all([goMissing(), pythonMissing()]);
if (noGo !== undefined) console.warn(`other-languages: Go client skipped: ${noGo}`);
if (noPython !== undefined) console.warn(`other-languages: Python client skipped: ${noPython}`);

/** What each client prints against the seeded shop. */
function expectShopSession(stdout: string, browseProtocol: string): void {
  expect(stdout).toMatch(new RegExp(`^browse \\(${browseProtocol}\\): 3 products, first .+$`, "m"));
  expect(stdout).toMatch(/^sign up \(grpc\): user \S+@example\.com$/m);
  expect(stdout).toMatch(/^my orders \(grpc\): 0$/m);
  expect(stdout).toMatch(/^missing product: not_found$/m);
}

describe("calling the shop from other languages", () => {
  let shop: Awaited<ReturnType<typeof startTestShop>>;
  beforeAll(async () => {
    shop = await startTestShop();
  });
  afterAll(() => shop?.close());

  it.skipIf(noGo !== undefined)("Go: connect-go over Connect and gRPC", { timeout: BUILD_TIMEOUT_MS }, async () => {
    const binary = await buildGoClient();
    const { stdout } = await run(binary, [shop.url], { timeout: 60_000 });
    expectShopSession(stdout, "connect");
  });

  it.skipIf(noPython !== undefined)("Python: grpcio over gRPC", { timeout: BUILD_TIMEOUT_MS }, async () => {
    const { python, script, genDir } = await buildPythonClient();
    const { stdout } = await run(python, [script, new URL(shop.url).host, genDir], { timeout: 60_000 });
    expectShopSession(stdout, "grpc");
  });
});
