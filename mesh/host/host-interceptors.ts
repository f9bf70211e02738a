// The host's own interceptors, run outermost around every call by every engine and by the in-process
// transport, so drain and error behaviour is the same whoever parses the bytes.

import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { REFUSED_HEADER } from "../resilience/refusal.ts";
import type { InFlightTracker } from "./in-flight.ts";
import { errorFields, type HostLogger } from "./logger.ts";

/** The message every unexpected error is answered with: nothing about the server's internals. */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/**
 * Turns anything that is not a ConnectError into INTERNAL with a generic message, logging the original
 * (with stack) server-side. An error raised because the call was aborted (deadline, client cancel,
 * shutdown) becomes the abort's own ConnectError (CANCELED when the abort carried none), so a handler
 * that rejects with an AbortError still answers DEADLINE_EXCEEDED / CANCELED and is not logged.
 */
export function createErrorSanitizer(logger: HostLogger): Interceptor {
  const sanitize = (err: unknown, procedure: string, signal: AbortSignal): ConnectError => {
    if (err instanceof ConnectError) return err;
    if (signal.aborted) {
      // The error is a consequence of the abort (deadline, shutdown, or a client that went away), not a
      // handler bug: answer with the abort's own code, and do not log it as a failure.
      return signal.reason instanceof ConnectError ? signal.reason : new ConnectError("the call was cancelled", Code.Canceled);
    }
    logger.error("handler failed", { procedure, ...errorFields(err) });
    return new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal);
  };
  return (next) => async (req) => {
    const procedure = `/${req.service.typeName}/${req.method.name}`;
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw sanitize(err, procedure, req.signal);
    }
    if (!res.stream) return res;
    const source = res.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (err) {
        throw sanitize(err, procedure, req.signal);
      }
    }
    return { ...res, message: guarded() } satisfies StreamResponse;
  };
}

/** What the admission interceptor needs to know about the host. */
export interface AdmissionState {
  /** True once a drain has begun: new calls are refused. */
  readonly draining: boolean;
  /** Calls in progress. */
  readonly inFlight: InFlightTracker;
  /**
   * Services that stay available during a drain and are not counted as in flight (health, reflection,
   * admin: probes must see NOT_SERVING rather than UNAVAILABLE, and a health Watch must not hold the
   * drain open).
   */
  readonly infrastructure: ReadonlySet<string>;
}

/**
 * Refuses new calls with UNAVAILABLE once the host drains, and counts admitted calls as in flight until
 * their response is complete (unary: the handler returned; streaming: the response stream ended; in
 * any case: the call's signal aborted, which connect does when a call is done).
 */
export function createAdmission(state: AdmissionState): Interceptor {
  return (next) => async (req) => {
    if (state.infrastructure.has(req.service.typeName)) return next(req);
    if (state.draining) {
      // Marked as a refusal (mesh/resilience REFUSED_HEADER): the mesh client may then retry even a
      // non-idempotent call elsewhere, because no handler ran.
      throw new ConnectError("server is draining; retry on another instance", Code.Unavailable, { [REFUSED_HEADER]: "draining" });
    }
    const end = state.inFlight.begin();
    req.signal.addEventListener("abort", end, { once: true });
    let res;
    try {
      res = await next(req);
    } catch (err) {
      end();
      throw err;
    }
    if (!res.stream) {
      end();
      return res;
    }
    const source = res.message;
    async function* counted() {
      try {
        yield* source;
      } finally {
        end();
      }
    }
    return { ...res, message: counted() } satisfies StreamResponse;
  };
}
