// A Connect server interceptor that admits calls through a concurrency limiter (I/O-bound overload: the
// queue shows as calls in flight) and an event-loop guard (CPU-bound overload: the queue shows as long
// event-loop turns), and refuses the excess at once with RESOURCE_EXHAUSTED (marked as a refusal, so
// clients may retry it on another instance).

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Admission, ConcurrencyLimiter } from "./concurrency-limiter.ts";
import { createEventLoopGuard, type EventLoopGuard, type EventLoopGuardOptions } from "./event-loop-guard.ts";
import { refusedError } from "./refusal.ts";
import { WeftOptionsError } from "../errors/index.ts";
import type { Metrics, ValueCell } from "../telemetry/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createLoadSheddingInterceptor}. */
export interface LoadSheddingOptions {
  /** The limiter deciding admission (one per process). */
  readonly limiter: ConcurrencyLimiter;
  /**
   * Fully-qualified service names never shed: probes and tooling must get through an overload.
   * Default: grpc.health.v1.Health, both gRPC reflection services and weft.mesh.v1.AdminService.
   */
  readonly exemptServices?: readonly string[];
  /**
   * The event-loop guard (one per process: pass the same one to every interceptor of the process), its
   * options, or false for none. Default: a guard with its defaults (see event-loop-guard.ts).
   */
  readonly eventLoopGuard?: EventLoopGuard | EventLoopGuardOptions | false;
  /** Where shed calls are counted by reason (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
}

// Codes that say the call failed for its own reasons, not because the server was slow.
const LATENCY_NEUTRAL = new Set<Code>([
  Code.InvalidArgument, Code.NotFound, Code.AlreadyExists, Code.PermissionDenied, Code.FailedPrecondition,
  Code.OutOfRange, Code.Unimplemented, Code.Unauthenticated, Code.Canceled,
]);

/** Services never shed unless the options say otherwise. */
const DEFAULT_EXEMPT_SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "weft.mesh.v1.AdminService",
];

/** Creates the load-shedding interceptor. Put it outermost among the server's own interceptors. */
export function createLoadSheddingInterceptor(options: LoadSheddingOptions): Interceptor {
  const { limiter, exempt, guard, overloaded, shed } = resolveShedding(options);
  return (next) => {
    // Written with then() rather than async/await: this wraps every call, so it should add one
    // promise, not an async frame. The synchronous part of the call is timed for the guard's budget.
    function run(req: Parameters<typeof next>[0], admission: Admission) {
      const t0 = performance.now();
      let pending;
      try {
        pending = next(req);
      } catch (err) {
        limiter.release(admission, latencyNeutral(err));
        throw err;
      } finally {
        guard?.record(performance.now() - t0);
      }
      return pending.then(
        (res) => {
          // Streams are released when the handler returns its response; their duration is not a latency.
          limiter.release(admission, !req.stream);
          return res;
        },
        (err: unknown) => {
          limiter.release(admission, latencyNeutral(err));
          throw err;
        },
      );
    }
    return (req) => {
      if (exempt.has(req.service.typeName)) return next(req);
      const verdict = guard === undefined ? "run" : guard.admit();
      const admission = verdict === "refuse" ? undefined : limiter.tryAcquire();
      if (admission === undefined) {
        if (shed !== undefined) shed[verdict === "refuse" ? "eventLoop" : "concurrencyLimit"].value++;
        return Promise.reject(overloaded);
      }
      if (verdict === "run") return run(req, admission);
      // Shedding: start after this turn's I/O, so that the turn's refusals are flushed before its work.
      return new Promise((resolve, reject) => {
        setImmediate(() => {
          try {
            resolve(run(req, admission));
          } catch (err) {
            reject(err);
          }
        });
      });
    };
  };
}

/** What both forms of load shedding (interceptor and host call hooks) are built from. */
export interface Shedding {
  readonly limiter: ConcurrencyLimiter;
  readonly exempt: ReadonlySet<string>;
  readonly guard: EventLoopGuard | undefined;
  /**
   * The one refusal every refused call gets: building a ConnectError (stack trace, Headers) was the
   * largest cost of a refusal, and refusals come in floods. Nothing on the server side writes to an
   * error's metadata, so sharing it is safe; nothing outside must modify it either.
   */
  readonly overloaded: ConnectError;
  /** Shed-call counters by reason, when metrics are on. */
  readonly shed: { readonly eventLoop: ValueCell; readonly concurrencyLimit: ValueCell } | undefined;
}

/** Validates the options and builds the limiter's companions. */
export function resolveShedding(options: LoadSheddingOptions): Shedding {
  if (options === null || typeof options !== "object" || typeof options.limiter?.tryAcquire !== "function") {
    throw new WeftOptionsError(OPTIONS, "options.limiter must be a ConcurrencyLimiter");
  }
  return {
    limiter: options.limiter,
    exempt: new Set(options.exemptServices ?? DEFAULT_EXEMPT_SERVICES),
    guard: guardOf(options.eventLoopGuard),
    overloaded: refusedError("overloaded"),
    shed: options.metrics === undefined ? undefined : { eventLoop: options.metrics.shed("event_loop"), concurrencyLimit: options.metrics.shed("concurrency_limit") },
  };
}

/** The guard the options ask for (one given, one built from options, or none). */
function guardOf(option: LoadSheddingOptions["eventLoopGuard"]): EventLoopGuard | undefined {
  if (option === false) return undefined;
  if (typeof (option as Partial<EventLoopGuard> | undefined)?.admit === "function") return option as EventLoopGuard;
  return createEventLoopGuard(option as EventLoopGuardOptions | undefined);
}

/** True when a call's error says nothing about the server's latency (its own fault, or cancelled). */
export function latencyNeutral(err: unknown): boolean {
  return err instanceof ConnectError && LATENCY_NEUTRAL.has(err.code);
}
