import { describe, expect, it } from "vitest";
import { createCatalogService } from "../catalog/index.ts";
import { createOrdersService } from "../orders/index.ts";
import { ShopOptionsError, WEFT_ERR_SHOP_OPTIONS } from "./options-error.ts";

function thrown(build: () => unknown): unknown {
  try {
    build();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("service factories' option errors", () => {
  it("carry WEFT_ERR_SHOP_OPTIONS and name the missing field", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => createOrdersService({} as never), /options\.catalog is required/],
      [() => createOrdersService({ catalog: {}, inventory: {} } as never), /options\.events is required/],
      [() => createCatalogService({ products: [] } as never), /options\.cache is required/],
      [() => createCatalogService(undefined as never), /options\.products must be an array/],
    ];
    for (const [build, message] of cases) {
      const err = thrown(build);
      expect(err).toBeInstanceOf(ShopOptionsError);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as ShopOptionsError).code).toBe(WEFT_ERR_SHOP_OPTIONS);
      expect((err as Error).message).toMatch(message);
    }
  });
});
