// Load shedding's options and admission: a concurrency limiter (I/O-bound overload: the queue shows as
// calls in flight) and an event-loop guard (CPU-bound overload: the queue shows as long event-loop
// turns) admit calls, a bounded queue holds a burst beyond them, and the excess is refused with
// RESOURCE_EXHAUSTED (marked as a refusal, so clients may retry it on another instance). The server side is load-shedding-hooks.ts.

import { Code, ConnectError } from "@connectrpc/connect";
import type { ConcurrencyLimiter } from "./concurrency-limiter.ts";
import { createAdmissionQueue, type AdmissionQueue, type AdmissionQueueOptions } from "./admission-queue.ts";
import { createRefusalPacer, type RefusalPacer, type RefusalPacerOptions } from "./refusal-pacer.ts";
import { createEventLoopGuard, type EventLoopGuard, type EventLoopGuardOptions } from "./event-loop-guard.ts";
import { refusedError } from "../engine/index.ts";
import { WeftOptionsError } from "../errors/index.ts";
import type { Metrics, ValueCell } from "../telemetry/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of `createLoadSheddingHooks`. */
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
  /**
   * The bounded wait queue of calls that find no room (see admission-queue.ts), or false to refuse
   * them at once. Default: a queue with its defaults.
   */
  readonly queue?: AdmissionQueueOptions | false;
  /**
   * Pacing of refusals beyond a few per call served (see refusal-pacer.ts), or false to send every
   * refusal at once. Default: a pacer with its defaults.
   */
  readonly pacing?: RefusalPacerOptions | false;
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

/** What load shedding is built from (see load-shedding-hooks.ts). */
export interface Shedding {
  readonly limiter: ConcurrencyLimiter;
  readonly exempt: ReadonlySet<string>;
  readonly guard: EventLoopGuard | undefined;
  readonly queue: AdmissionQueue | undefined;
  readonly pacer: RefusalPacer | undefined;
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
    queue: options.queue === false ? undefined : createAdmissionQueue(options.queue),
    pacer: options.pacing === false ? undefined : createRefusalPacer(options.pacing),
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
