import { type CallOptions, Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/**
 * Call options for a downstream call made while handling `ctx`: the caller's cancellation and its
 * remaining deadline travel with the call, so a request that gave up stops the work it started.
 */
export function downstream(ctx: HandlerContext, headers?: HeadersInit): CallOptions {
  const timeoutMs = ctx.timeoutMs();
  return { signal: ctx.signal, timeoutMs: timeoutMs === undefined ? undefined : Math.max(1, timeoutMs), headers };
}

/** How long a compensating call (e.g. releasing stock after a failure) may take; it ignores the caller's deadline. */
export const COMPENSATION_TIMEOUT_MS = 5_000;

/**
 * Re-throws a downstream failure with its code and message but without the downstream response's
 * headers and trailers (which must not leak into this service's response). Errors that are not
 * ConnectErrors become INTERNAL, with their text kept only as the cause.
 */
export function relayError(err: unknown): ConnectError {
  if (err instanceof ConnectError) {
    return new ConnectError(err.rawMessage, err.code, undefined, err.details as OutgoingDetail[], err);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/** Awaits a downstream call, relaying its failure with {@link relayError}. */
export async function relay<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw relayError(err);
  }
}

type OutgoingDetail = NonNullable<ConstructorParameters<typeof ConnectError>[3]>[number];
