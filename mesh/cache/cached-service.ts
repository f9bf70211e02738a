import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethodUnary, DescService, MessageShape } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { createHash } from "node:crypto";
import { compileCodec } from "../codec/index.ts";
import { CacheOptionsError } from "../errors/index.ts";
import { type Cache, callLoadOptions } from "./cache.ts";

/** How one method's responses are cached. */
export interface ResponseCachePolicy {
  /** Time to live of its responses. Default: the cache's ttlMs. */
  readonly ttlMs?: number;
}

/** Options for `withResponseCache`. */
export interface ResponseCacheOptions<S extends DescService> {
  /** Where responses are kept. */
  readonly cache: Cache;
  /**
   * The methods to cache, by their local name (e.g. `getProduct`); each must be unary and declared
   * `option idempotency_level = NO_SIDE_EFFECTS;` in its .proto.
   */
  readonly methods: { readonly [K in keyof S["method"]]?: ResponseCachePolicy };
}

/** The cache key of a call: `rpc:<service>/<method>:` and a hash of the request's binary encoding. */
export function responseCacheKey<I extends DescMessage>(method: DescMethodUnary<I>, request: MessageShape<I>): string {
  const digest = createHash("sha256").update(compileCodec(method.input).toBinary(request)).digest("base64url");
  return `rpc:${method.parent.typeName}/${method.name}:${digest}`;
}

/**
 * Wraps a service implementation so that the configured read-only methods answer from the cache,
 * keyed by method and request bytes: caching is configuration, handlers hold no cache code. Cache
 * only methods whose answer does not depend on who asks (headers, identity); response headers a
 * handler sets are not replayed on a hit. Invalidate with `responseCacheKey`, or rely on the TTL.
 */
export function withResponseCache<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
  options: ResponseCacheOptions<S>,
): Partial<ServiceImpl<S>> {
  const wrapped: Record<string, unknown> = { ...impl };
  for (const [localName, policy] of Object.entries(options.methods) as Array<[string, ResponseCachePolicy | undefined]>) {
    const method = service.method[localName];
    if (!method) throw new CacheOptionsError(`options.methods.${localName} is not a method of ${service.typeName}`);
    const name = `${service.typeName}.${method.name}`;
    if (method.methodKind !== "unary") throw new CacheOptionsError(`options.methods.${localName}: ${name} is not unary`);
    if (method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
      throw new CacheOptionsError(`options.methods.${localName}: ${name} is not declared idempotency_level = NO_SIDE_EFFECTS`);
    }
    const handler = (impl as Record<string, unknown>)[localName];
    if (typeof handler !== "function") continue; // unimplemented stays unimplemented
    const unary = method as DescMethodUnary;
    wrapped[localName] = (request: MessageShape<DescMessage>, context: HandlerContext) =>
      options.cache.getOrLoad(
        unary.output,
        responseCacheKey(unary, request),
        async () => create(unary.output, await handler.call(impl, request, context)),
        callLoadOptions(context, policy?.ttlMs),
      );
  }
  return wrapped as Partial<ServiceImpl<S>>;
}
