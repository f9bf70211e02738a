import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CatalogService, GetProductRequestSchema, ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { responseCacheKey, withResponseCache } from "./cached-service.ts";
import { createMemoryCache } from "./memory-cache.ts";

describe("withResponseCache", () => {
  function catalog() {
    const calls = { getProduct: 0, listProducts: 0 };
    let name = "Widget";
    const cache = createMemoryCache();
    const transport = createRouterTransport((router) =>
      router.service(
        CatalogService,
        withResponseCache(
          CatalogService,
          {
            // Plain handlers: no cache code.
            getProduct(req) {
              calls.getProduct++;
              if (req.id === "missing") throw new ConnectError("no such product", Code.NotFound);
              return { product: create(ProductSchema, { id: req.id, name }) };
            },
            listProducts() {
              calls.listProducts++;
              return { products: [] };
            },
          },
          { cache, methods: { getProduct: { ttlMs: 60_000 } } },
        ),
      ),
    );
    return { client: createClient(CatalogService, transport), calls, cache, rename: (n: string) => (name = n) };
  }

  it("answers a configured NO_SIDE_EFFECTS method from the cache, keyed by request bytes", async () => {
    const { client, calls } = catalog();
    expect((await client.getProduct({ id: "p1" })).product?.name).toBe("Widget");
    expect((await client.getProduct({ id: "p1" })).product?.name).toBe("Widget");
    await Promise.all(Array.from({ length: 50 }, () => client.getProduct({ id: "p2" })));
    expect(calls.getProduct).toBe(2); // one per distinct request
    await client.listProducts({});
    await client.listProducts({});
    expect(calls.listProducts).toBe(2); // not configured, not cached
  });

  it("does not cache errors, and invalidates by the call's key", async () => {
    const { client, calls, cache, rename } = catalog();
    await expect(client.getProduct({ id: "missing" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.getProduct({ id: "missing" })).rejects.toMatchObject({ code: Code.NotFound });
    expect(calls.getProduct).toBe(2);
    await client.getProduct({ id: "p1" });
    rename("Gadget");
    expect((await client.getProduct({ id: "p1" })).product?.name).toBe("Widget");
    await cache.invalidate(responseCacheKey(CatalogService.method.getProduct, create(GetProductRequestSchema, { id: "p1" })));
    expect((await client.getProduct({ id: "p1" })).product?.name).toBe("Gadget");
  });

  it("refuses methods that may have side effects, naming them", () => {
    const cache = createMemoryCache();
    expect(() => withResponseCache(TestService, {}, { cache, methods: { unaryCall: {} } })).toThrow(
      "options.methods.unaryCall: weft.testing.v1.TestService.UnaryCall is not declared idempotency_level = NO_SIDE_EFFECTS",
    );
    expect(() => withResponseCache(TestService, {}, { cache, methods: { streamingOutputCall: {} } })).toThrow("not unary");
    expect(() => withResponseCache(TestService, {}, { cache, methods: { cacheableUnaryCall: {} } })).not.toThrow();
  });
});
