// The repository's import rules (test/structure/import-rules.ts) hold: public entry points only, layers
// downward, no cycles among mesh folders, no test or bench code in product folders.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importProblems, readSources } from "./import-rules.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Problems that issue 9's engine-contract work (mesh/engine: host and protocol stop importing each other,
 * call hooks move below protocol) removes, listed one by one so that nothing new hides among them. An
 * entry that no longer occurs fails the test too: delete it, and this list only shrinks.
 */
const PENDING_ENGINE_CONTRACT: readonly string[] = [
  "import cycle among mesh folders: host -> protocol -> resilience -> host",
  "mesh/host/host-interceptors.ts imports mesh/resilience/refusal.ts: import mesh/resilience through mesh/resilience/index.ts",
  "mesh/host/host.ts imports mesh/protocol/engine.ts: import mesh/protocol through mesh/protocol/index.ts",
  "mesh/host/host.ts imports mesh/protocol/in-process-transport.ts: import mesh/protocol through mesh/protocol/index.ts",
  "mesh/host/index.ts imports mesh/protocol/engine.ts: import mesh/protocol through mesh/protocol/index.ts",
  "mesh/host/index.ts imports mesh/protocol/engine.ts: import mesh/protocol through mesh/protocol/index.ts",
  "mesh/protocol/call-response.ts imports mesh/host/call-hooks.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/call-response.ts imports mesh/host/call-hooks.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/call-response.ts imports mesh/host/cors.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/call-response.ts imports mesh/host/cors.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/call-response.ts imports mesh/host/engine.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/call-response.ts imports mesh/host/engine.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/call-response.ts imports mesh/host/logger.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/call-response.ts imports mesh/host/logger.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/engine.ts imports mesh/host/engine.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/engine.ts imports mesh/host/engine.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/engine.ts imports mesh/host/http-fallback.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/engine.ts imports mesh/host/http-fallback.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/in-process-transport.ts imports mesh/host/engine.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/in-process-transport.ts imports mesh/host/engine.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/method-table.ts imports mesh/host/engine.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/method-table.ts imports mesh/host/engine.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/serve.ts imports mesh/host/cors.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/serve.ts imports mesh/host/cors.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/serve.ts imports mesh/host/engine.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/serve.ts imports mesh/host/engine.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/serve.ts imports mesh/host/host-interceptors.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/serve.ts imports mesh/host/host-interceptors.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/serve.ts imports mesh/host/in-flight.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/serve.ts imports mesh/host/in-flight.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/serve.ts imports mesh/host/logger.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/serve.ts imports mesh/host/logger.ts: import mesh/host through mesh/host/index.ts",
  "mesh/protocol/serve.ts imports mesh/host/logger.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/protocol/serve.ts imports mesh/host/logger.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
  "mesh/resilience/inbound-call.ts imports mesh/host/call-hooks.ts: import mesh/host through mesh/host/index.ts",
  "mesh/resilience/load-shedding-hooks.ts imports mesh/host/call-hooks.ts: import mesh/host through mesh/host/index.ts",
];

describe("import rules", () => {
  it("hold across mesh/, services/, scripts/, test/, bench/ and web/", () => {
    const problems = importProblems(readSources(ROOT));
    const pending = new Set(PENDING_ENGINE_CONTRACT);
    expect(problems.filter((p) => !pending.has(p))).toEqual([]);
    expect(PENDING_ENGINE_CONTRACT.filter((p) => !problems.includes(p)), "fixed: delete from PENDING_ENGINE_CONTRACT").toEqual([]);
  });

  it("catch each kind of bad import (type-only included)", () => {
    const files = new Map([
      ["mesh/codec/a.ts", 'import type { Host } from "../host/index.ts";'],
      ["mesh/host/index.ts", 'export { x } from "./x.ts";'],
      ["mesh/host/x.ts", 'import { y } from "../client/index.ts";'],
      ["mesh/client/index.ts", 'export type { X } from "../host/index.ts";'],
      ["mesh/client/y.ts", 'import { TestService } from "../../test/support/test-service.ts";'],
      ["mesh/client/y.test.ts", 'import { TestService } from "../../test/support/test-service.ts";'],
      ["services/orders/o.ts", 'import { c } from "../catalog/catalog-service.ts";\nimport type { Cache } from "../../mesh/cache/cache.ts";'],
      ["services/shop.ts", 'const m = await import("./orders/o.ts");'],
      ["bench/b.ts", 'import "../mesh/host/x.ts";'],
    ]);
    expect(importProblems(files).sort()).toEqual([
      "bench/b.ts imports mesh/host/x.ts: import mesh/host through mesh/host/index.ts",
      "import cycle among mesh folders: client -> host -> client",
      "mesh/client/y.ts imports test/support/test-service.ts: product code (mesh/, services/) never imports test/ or bench/",
      "mesh/codec/a.ts imports mesh/host/index.ts: layers import downward only (codec <- engine <- protocol <- host <- node)",
      "services/orders/o.ts imports mesh/cache/cache.ts: import mesh/cache through mesh/cache/index.ts",
      "services/orders/o.ts imports services/catalog/catalog-service.ts: import services/catalog through services/catalog/index.ts",
      "services/shop.ts imports services/orders/o.ts: import services/orders through services/orders/index.ts",
    ]);
  });
});
