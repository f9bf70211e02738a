// The host's say over every call (wire-engine.ts CallGate): drain admission, in-flight accounting and error
// sanitising. Engines call the gate directly; `gateInterceptors` runs the same gate as connect-es
// interceptors for engines that cannot report call ends themselves (connect-node), so drain and error
// behaviour is the same whoever parses the bytes.

import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { REFUSED_HEADER } from "./refusal.ts";
import type { CallGate } from "./wire-engine.ts";
import type { InFlightTracker } from "./in-flight.ts";
import { errorFields, type HostLogger } from "./logger.ts";

/** The message every unexpected error is answered with: nothing about the server's internals. */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/** What the gate needs to know about the host. */
export interface CallGateState {
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
  /** Where unexpected handler errors are logged. */
  readonly logger: HostLogger;
}

/**
 * Creates the host's call gate. Refusals carry the mesh/resilience REFUSED_HEADER, so the mesh client
 * may retry even a non-idempotent call elsewhere (no handler ran). An error raised because the call was
 * aborted (deadline, client cancel, shutdown) becomes the abort's own ConnectError (CANCELED when the
 * abort carried none), so a handler rejecting with an AbortError still answers DEADLINE_EXCEEDED /
 * CANCELED and is not logged as a failure.
 */
export function createCallGate(state: CallGateState): CallGate {
  const { inFlight, infrastructure, logger } = state;
  return {
    enter(service: DescService): boolean {
      if (infrastructure.has(service.typeName)) return false;
      if (state.draining) {
        throw new ConnectError("server is draining; retry on another instance", Code.Unavailable, { [REFUSED_HEADER]: "draining" });
      }
      inFlight.enter();
      return true;
    },
    leave(): void {
      inFlight.leave();
    },
    sanitize(err: unknown, procedure: string, abortReason: unknown): ConnectError {
      if (err instanceof ConnectError) return err;
      if (abortReason !== undefined) {
        return abortReason instanceof ConnectError ? abortReason : new ConnectError("the call was cancelled", Code.Canceled);
      }
      logger.error("handler failed", { procedure, ...errorFields(err) });
      return new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal);
    },
  };
}

function procedureOf(req: { service: DescService; method: { name: string } }): string {
  return `/${req.service.typeName}/${req.method.name}`;
}

/** The gate's sanitising as an interceptor (outermost). */
function sanitizer(gate: CallGate): Interceptor {
  const sanitize = (err: unknown, req: { service: DescService; method: { name: string }; signal: AbortSignal }) =>
    gate.sanitize(err, procedureOf(req), req.signal.aborted ? (req.signal.reason ?? null) : undefined);
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw sanitize(err, req);
    }
    if (!res.stream) return res;
    const source = res.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (err) {
        throw sanitize(err, req);
      }
    }
    return { ...res, message: guarded() } satisfies StreamResponse;
  };
}

/**
 * The gate's admission and accounting as an interceptor: a counted call is over when its response is
 * complete (unary: the handler returned; streaming: the response stream ended) or, in any case, when
 * the call's signal aborts (connect aborts it when a call is done or its client went away).
 */
function admission(gate: CallGate): Interceptor {
  return (next) => async (req) => {
    if (!gate.enter(req.service)) return next(req);
    let left = false;
    const end = () => {
      if (left) return;
      left = true;
      gate.leave();
    };
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

/**
 * The gate as connect-es interceptors, outermost first (sanitising, then admission and accounting),
 * for engines that run the gate through interceptors, ahead of the user's interceptors.
 */
export function gateInterceptors(gate: CallGate): Interceptor[] {
  return [sanitizer(gate), admission(gate)];
}
