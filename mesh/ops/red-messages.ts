// RED window figures as admin API messages.

import type { AdminMethodSeries, AdminMethodStats } from "../host/index.ts";
import type { RedSeries, RedSummary } from "../telemetry/index.ts";

/** Rounds milliseconds to microseconds, so answers stay short. */
const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Summaries as MethodStats, busiest first. */
export function statsMessages(summaries: readonly RedSummary[]): AdminMethodStats[] {
  return [...summaries]
    .sort((a, b) => b.calls - a.calls)
    .map((s) => ({ service: s.service, method: s.method, caller: s.caller, calls: BigInt(s.calls), errors: BigInt(s.errors), rate: s.rate, errorRate: s.errorRate, p50Ms: round(s.p50Ms), p95Ms: round(s.p95Ms), p99Ms: round(s.p99Ms) }));
}

/** Series as MethodSeries. */
export function seriesMessages(series: readonly RedSeries[]): AdminMethodSeries[] {
  return series.map((s) => ({ ...s, startUnixS: BigInt(s.startUnixS), p99Ms: s.p99Ms.map(round) }));
}
