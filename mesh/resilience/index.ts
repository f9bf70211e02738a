// Public entry of mesh/resilience: retry budget, outlier ejection, adaptive concurrency limit, event-loop
// guard, load shedding and deadline propagation (the inbound call).

export type { RetryBudget, RetryBudgetOptions } from "./retry-budget.ts";
export { createRetryBudget } from "./retry-budget.ts";
export type { Ejection, OutlierDetector, OutlierDetectorOptions } from "./outlier-detector.ts";
export { createOutlierDetector } from "./outlier-detector.ts";
export type { Admission, ConcurrencyLimiter, ConcurrencyLimiterOptions } from "./concurrency-limiter.ts";
export { createConcurrencyLimiter } from "./concurrency-limiter.ts";
export type { LoadSheddingOptions } from "./load-shedding.ts";
export { createLoadSheddingHooks } from "./load-shedding-hooks.ts";
export type { EventLoopGuard, EventLoopGuardOptions, GuardVerdict } from "./event-loop-guard.ts";
export { createEventLoopGuard } from "./event-loop-guard.ts";
export type { EventLoopMonitor, EventLoopMonitorOptions } from "./event-loop-monitor.ts";
export { createEventLoopMonitor } from "./event-loop-monitor.ts";
export type { RefusalReason } from "../engine/index.ts";
export { isRefusal, REFUSED_HEADER, refusedError } from "../engine/index.ts";
export type { InboundCall } from "./inbound-call.ts";
export { CALLER_HEADER, createInboundCallHooks, currentInboundCall, runInInboundCall, withCallerHeader } from "./inbound-call.ts";
