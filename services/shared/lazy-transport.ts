import type { Transport } from "@connectrpc/connect";

/**
 * A Transport that resolves the real one on the first call. Services that call each other in one
 * process need clients before the transport that reaches them exists (the transport routes to the very
 * services being built); this breaks the cycle without mutable module state.
 */
export function createLazyTransport(resolve: () => Transport): Transport {
  let transport: Transport | undefined;
  const get = (): Transport => (transport ??= resolve());
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      get().unary(method, signal, timeoutMs, header, input, contextValues),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      get().stream(method, signal, timeoutMs, header, input, contextValues),
  };
}
