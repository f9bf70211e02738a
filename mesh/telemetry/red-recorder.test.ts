// The RED recorder's hooks: every call lands in its (service, method, caller) key, within the window's caps.

import { describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { CallHookContext } from "../engine/index.ts";
import { createRedRecorder } from "./red-recorder.ts";
import { OTHER_CALLER } from "./red-window.ts";

describe("createRedRecorder", () => {
  it("records repeated callers under their own key and callers past the per-method cap under (other)", () => {
    const recorder = createRedRecorder({ maxCallersPerMethod: 2, callerOf: (ctx) => (ctx as unknown as { caller: string }).caller });
    const call = (caller: string) => {
      const ctx = { method: CatalogService.method.getProduct, caller } as unknown as CallHookContext;
      recorder.hooks.end!(recorder.hooks.begin!(CatalogService, ctx), undefined);
    };
    for (const caller of ["a", "b", "c", "a", "c", "d", "b"]) call(caller);
    const now = Math.floor(Date.now() / 1000);
    const byCaller = Object.fromEntries(recorder.window.summarize(now, 60).map((s) => [s.caller, s.calls]));
    expect(byCaller).toEqual({ a: 2, b: 2, [OTHER_CALLER]: 3 });
  });
});
