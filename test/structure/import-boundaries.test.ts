// The repository's import rules (test/structure/import-rules.ts) hold: public entry points only, layers
// downward, no cycles among mesh folders, no test or bench code in product folders.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importProblems, readSources } from "./import-rules.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("import rules", () => {
  it("hold across mesh/, services/, scripts/, test/, bench/ and web/", () => {
    expect(importProblems(readSources(ROOT))).toEqual([]);
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
