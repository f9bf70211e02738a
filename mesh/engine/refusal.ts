// The marker a server puts on an error when it refused a call before any handler ran (draining,
// overloaded). A client may then retry the call elsewhere even if the method is not idempotent,
// because the refusal proves that nothing happened.

import { Code, ConnectError } from "@connectrpc/connect";

/** Response header / trailer naming why the server refused the call. */
export const REFUSED_HEADER = "weft-refused";

/** Why a server refused a call. */
export type RefusalReason = "draining" | "overloaded";

/**
 * The error a server answers with when it refuses a call before any handler ran: UNAVAILABLE when
 * draining, RESOURCE_EXHAUSTED when overloaded, both marked with {@link REFUSED_HEADER}.
 */
export function refusedError(reason: RefusalReason): ConnectError {
  const code = reason === "draining" ? Code.Unavailable : Code.ResourceExhausted;
  const message = reason === "draining" ? "server is draining" : "server is overloaded, retry later";
  return new ConnectError(message, code, { [REFUSED_HEADER]: reason });
}

/** Whether `error` is a server's refusal (see {@link refusedError}). */
export function isRefusal(error: unknown): boolean {
  return error instanceof ConnectError && error.metadata.has(REFUSED_HEADER);
}
