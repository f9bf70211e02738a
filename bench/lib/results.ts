// The shape of bench/results/<timestamp>.json, and the summaries computed from the runs.

import { summarize, median } from "./stats.ts";
import type { ProfileSummary } from "./profile-summary.ts";
import type { RunProbes } from "./core-probe.ts";
import { interquartileMean, type PairedMeasurement } from "./paired-slices.ts";
import type { ScenarioGroup, Target } from "./scenarios.ts";

/** One run of one scenario. A failed run never carries a rate. */
export interface RunResult {
  readonly run: number;
  readonly status: "ok" | "failed" | "unavailable";
  /** Requests (or calls) per second, only when status is "ok". */
  readonly rate?: number;
  /** Why the run failed (verification problems, crashes). */
  readonly problems: readonly string[];
  /** Why the scenario is not available. */
  readonly reason?: string;
  /** What served (and, for client scenarios, what called). */
  readonly serverDetail?: string;
  readonly clientDetail?: string;
  /**
   * CPU shares during the measured window (1.0 = one core fully busy): the server process, the load
   * generator or client process, and how busy the server's and the load's cores were in total (the
   * excess over the benchmark's own process is other work on the machine).
   */
  readonly cpu?: { readonly server?: number; readonly load?: number; readonly serverCore?: number; readonly loadCore?: number };
  /**
   * Calls per CPU-second of the judged side (server, or client in client scenarios): rate / CPU share.
   * Less sensitive than `rate` to other work on the machine.
   */
  readonly efficiency?: number;
  readonly latencyMeanMs?: number;
  readonly latencyP99Ms?: number;
  /** Counts as the load generator or client driver reported them (verified requests, errors). */
  readonly counts?: Readonly<Record<string, number>>;
  /** With --wait-idle: how long the run waited for idle cores, and how busy they were when it started. */
  idleWait?: { readonly waitedMs: number; readonly idle: boolean; readonly serverCore?: number; readonly loadCore?: number };
  /** CPU microseconds per call of the server and of the load side (generator or client) over the window. */
  readonly usPerCall?: { readonly server?: number; readonly load?: number };
  /** How long the warm-up took before the measured window, and whether the rate had stopped rising. */
  readonly warmupMs?: number;
  readonly steady?: boolean;
  /** The client's garbage collections per 1,000 calls (client scenarios). */
  readonly gcPer1000Calls?: { readonly scavenges: number; readonly scavengeMs: number; readonly majors: number; readonly majorMs: number };
  /** The probe loop's time on the server and load cores just before and just after the measured window. */
  readonly probe?: RunProbes;
  /** Set by judging: a probe of this run was slower than the run's fastest by more than SLOW_CORE_MARGIN. */
  slowCore?: boolean;
  /** CPU profiles (with --profile) of the server and, for client scenarios, the client. */
  profiles?: { server?: ProfileSummary; client?: ProfileSummary };
}

/** Summary over a scenario's runs. */
export interface ScenarioSummary {
  /** ok: every run verified; partial: some runs failed; failed: none verified; unavailable: not built yet. */
  readonly status: "ok" | "partial" | "failed" | "unavailable";
  readonly okRuns: number;
  readonly failedRuns: number;
  /** Verified runs during which no other work took ≥ NOISY_OTHER_CPU of either benchmark core. */
  readonly cleanRuns?: number;
  readonly median?: number;
  readonly min?: number;
  readonly max?: number;
  readonly serverCpu?: number;
  readonly loadCpu?: number;
  /** Median share of the server core used by other processes than the server (noise). */
  readonly otherOnServerCore?: number;
  /** Median share of the load core used by other processes than the generator or client (noise). */
  readonly otherOnLoadCore?: number;
  /** Median calls per CPU-second of the judged side (see RunResult.efficiency). */
  readonly efficiency?: number;
  /** Verified runs left out of the medians because a core was in a slow spell (see markSlowCores). */
  readonly slowRuns?: number;
  /** Median CPU microseconds per call of the server and of the load side. */
  readonly usPerCall?: { readonly server?: number; readonly load?: number };
  /** Median warm-up time, and how many warm-ups ended at the maximum with the rate still rising. */
  readonly warmupMs?: number;
  readonly unsteadyWarmUps?: number;
  /** Median client GC per 1,000 calls (client scenarios). */
  readonly gcPer1000Calls?: { readonly scavenges: number; readonly scavengeMs: number };
}

/** All runs of one scenario. */
export interface ScenarioResult {
  readonly id: string;
  readonly group: ScenarioGroup;
  readonly label: string;
  /** The load generator (or client driver) and its exact flags. */
  readonly generator: string;
  readonly runs: RunResult[];
  summary?: ScenarioSummary;
}

/** A target judged on this run's numbers. */
export interface TargetResult extends Target {
  readonly status: "met" | "NOT met" | "not available" | "no data";
  /** The verdict's ratio: the median of the paired slices' ratios when measured, else subject median / baseline median. */
  readonly ratio?: number;
  /** subject median / baseline median over the scenario runs (the tables); the verdict when there is no paired measurement. */
  readonly medianRatio?: number;
  /** The paired measurement behind the verdict (run-paired.ts). */
  readonly paired?: PairedMeasurement;
  /** subject / baseline for each run where both were verified. */
  readonly runRatios: readonly number[];
  /** Ratio of median calls per CPU-second (secondary: how the two compare per unit of CPU). */
  readonly efficiencyRatio?: number;
  /** Conditions that make the verdict unreliable, e.g. "grpc/weft noisy"; empty for a clean comparison. */
  readonly conditions?: readonly string[];
  readonly note?: string;
}

/** The load side's CPU share from which a scenario counts as limited by its load generator or client. */
export const LOAD_BOUND_CPU = 0.9;
/**
 * Share of a benchmark core taken by other work from which a run counts as disturbed. Clean runs on
 * this kind of machine show 0-4%; 13% already cost raw node:http 40% of its throughput (a competing
 * process delays every round trip), so the bar is low.
 */
export const NOISY_OTHER_CPU = 0.1;

/**
 * What may make a scenario's number wrong: "noisy" (others took a benchmark core in most of its runs,
 * so the median is likely a disturbed run) and/or "load-bound" (the load generator saturated its core;
 * not a flaw in client scenarios, where the client's speed is what is measured).
 */
export function conditionsOf(scenario: Pick<ScenarioResult, "group" | "summary">): ("noisy" | "load-bound")[] {
  const summary = scenario.summary;
  if (summary === undefined) return [];
  const noisy =
    summary.cleanRuns !== undefined
      ? summary.cleanRuns * 2 < summary.okRuns
      : Math.max(summary.otherOnServerCore ?? 0, summary.otherOnLoadCore ?? 0) >= NOISY_OTHER_CPU;
  const loadBound = scenario.group !== "client" && scenario.group !== "mtls" && (summary.loadCpu ?? 0) >= LOAD_BOUND_CPU;
  return [...(noisy ? (["noisy"] as const) : []), ...(loadBound ? (["load-bound"] as const) : [])];
}

/** True when other work took ≥ NOISY_OTHER_CPU of either benchmark core during this run. */
export function runIsNoisy(run: RunResult): boolean {
  const c = run.cpu;
  if (c === undefined) return false;
  const other = (busy: number | undefined, own: number | undefined) => (busy === undefined || own === undefined ? 0 : busy - own);
  return Math.max(other(c.serverCore, c.server), other(c.loadCore, c.load)) >= NOISY_OTHER_CPU;
}

/**
 * How much slower than the benchmark run's fastest probe a core may be before its run counts as taken in
 * a slow spell. Normal probes vary by ~5%; slow spells take ~1.8x.
 */
export const SLOW_CORE_MARGIN = 0.25;

export type { RunProbes } from "./core-probe.ts";

/**
 * A test of whether a run was taken in a slow spell: one of its probes (before or after, either core) was
 * slower than the fastest probe of the same core among `all` by more than SLOW_CORE_MARGIN.
 */
export function slowSpellTest(all: readonly RunProbes[]): (run: RunProbes) => boolean {
  const probes = all.flatMap((p) => [p.before, p.after]);
  const fastest = (core: "serverMs" | "loadMs") => Math.min(...probes.map((p) => p[core]).filter(Number.isFinite));
  const limit = { serverMs: fastest("serverMs") * (1 + SLOW_CORE_MARGIN), loadMs: fastest("loadMs") * (1 + SLOW_CORE_MARGIN) };
  return (run) => [run.before, run.after].some((p) => p.serverMs > limit.serverMs || p.loadMs > limit.loadMs);
}

/** The runs a median counts: those not taken in a slow spell, or all of them when every one was. */
export function countedRuns<T>(runs: readonly T[], isSlow: (run: T) => boolean): T[] {
  const fast = runs.filter((r) => !isSlow(r));
  return fast.length > 0 ? fast : [...runs];
}

/** Slow-spell judgement over one benchmark invocation's runs, whatever their shape. */
export interface SlowRuns<T> {
  /** True when the run's probe was slow (a run without a probe never is). */
  isSlow(run: T): boolean;
  /** The runs of one group (a scenario, a pool) that its median counts: see countedRuns. */
  counted(group: readonly T[]): T[];
  /** One sentence for the report: how many runs were slow and how many of them the medians left out. */
  note(groups: readonly (readonly T[])[]): string;
}

/**
 * Judges every run of one invocation against the fastest probe among all of them (slowSpellTest);
 * `probeOf` reads a run's probes (undefined: not probed, e.g. a quick run).
 */
export function slowRunFilter<T>(all: readonly T[], probeOf: (run: T) => RunProbes | undefined): SlowRuns<T> {
  const probes = all.map(probeOf).filter((p): p is RunProbes => p !== undefined);
  const test = probes.length === 0 ? () => false : slowSpellTest(probes);
  const isSlow = (run: T) => {
    const p = probeOf(run);
    return p !== undefined && test(p);
  };
  return {
    isSlow,
    counted: (group) => countedRuns(group, isSlow),
    note: (groups) => {
      if (probes.length === 0) return "No core speed probe (quick run).";
      const runs = groups.flat();
      const slow = runs.filter(isSlow).length;
      const dropped = groups.reduce((n, g) => n + g.length - countedRuns(g, isSlow).length, 0);
      return `Core speed probe before and after every run: ${slow} of ${runs.length} runs (marked *) had a probe more than ${SLOW_CORE_MARGIN * 100}% slower than this invocation's fastest; ${dropped} of them were left out of the medians (a group whose runs were all slow keeps them).`;
    },
  };
}

/** Marks every run of `scenarios` taken in a slow spell (slowSpellTest over all of this benchmark run's probes). */
export function markSlowCores(scenarios: readonly ScenarioResult[]): void {
  const slow = slowRunFilter(scenarios.flatMap((s) => s.runs), (r) => r.probe);
  for (const s of scenarios) {
    for (const r of s.runs) {
      if (r.probe !== undefined) r.slowCore = slow.isSlow(r);
    }
  }
}

/** Summarizes a scenario's runs; runs on a slow core are left out of the medians unless all were. */
export function summarizeScenario(result: ScenarioResult): ScenarioSummary {
  const verified = result.runs.filter((r) => r.status === "ok");
  const ok = countedRuns(verified, (r) => r.slowCore === true);
  const fast = verified.filter((r) => r.slowCore !== true);
  const failed = result.runs.filter((r) => r.status === "failed");
  if (result.runs.length > 0 && result.runs.every((r) => r.status === "unavailable")) {
    return { status: "unavailable", okRuns: 0, failedRuns: 0 };
  }
  const rates = summarize(ok.map((r) => r.rate as number));
  const medianOf = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined);
    return known.length > 0 ? median(known) : undefined;
  };
  const cpu = (key: "server" | "load") => medianOf(ok.map((r) => r.cpu?.[key]));
  const other = (core: "serverCore" | "loadCore", own: "server" | "load") =>
    medianOf(
      ok.map((r) => {
        const busy = r.cpu?.[core];
        const mine = r.cpu?.[own];
        return busy === undefined || mine === undefined ? undefined : Math.max(0, Math.round((busy - mine) * 100) / 100);
      }),
    );
  const usPerCall = (side: "server" | "load") => medianOf(ok.map((r) => r.usPerCall?.[side]));
  const gc = (key: "scavenges" | "scavengeMs") => medianOf(ok.map((r) => r.gcPer1000Calls?.[key]));
  const scavenges = gc("scavenges");
  const scavengeMs = gc("scavengeMs");
  const warmupMs = medianOf(ok.map((r) => r.warmupMs));
  return {
    status: ok.length === 0 ? "failed" : failed.length > 0 ? "partial" : "ok",
    okRuns: verified.length,
    slowRuns: verified.length - fast.length,
    ...(usPerCall("server") === undefined && usPerCall("load") === undefined ? {} : { usPerCall: { server: usPerCall("server"), load: usPerCall("load") } }),
    ...(warmupMs === undefined ? {} : { warmupMs, unsteadyWarmUps: ok.filter((r) => r.steady === false).length }),
    ...(scavenges === undefined || scavengeMs === undefined ? {} : { gcPer1000Calls: { scavenges, scavengeMs } }),
    failedRuns: failed.length,
    cleanRuns: ok.filter((r) => !runIsNoisy(r)).length,
    ...(rates ?? {}),
    serverCpu: cpu("server"),
    loadCpu: cpu("load"),
    otherOnServerCore: other("serverCore", "server"),
    otherOnLoadCore: other("loadCore", "load"),
    efficiency: medianOf(ok.map((r) => r.efficiency)),
  };
}

/**
 * Judges a target from the same run: on its paired measurement when there is one (both sides warm, load
 * alternating in slices; a failed pair has no verdict), else on the ratio of the scenarios' medians.
 */
export function judgeTarget(target: Target, scenarios: readonly ScenarioResult[], paired?: PairedMeasurement): TargetResult {
  const byMedians = judgeOnMedians(target, scenarios);
  if (paired === undefined) return byMedians;
  // The tables' noise conditions describe runs minutes apart, not the pairs (a pair's two slices share the
  // machine's state); a load-bound generator limits the pairs as it limited the runs.
  const conditions = (byMedians.conditions ?? []).filter((c) => c.endsWith("load-bound"));
  const base = { ...byMedians, paired, conditions, ...(byMedians.ratio === undefined ? {} : { medianRatio: byMedians.ratio }) };
  if (paired.ratio === undefined) return { ...base, status: "no data", ratio: undefined, note: `paired measurement failed: ${paired.problems.join("; ")}` };
  // From the stored pair ratios, so re-rendering an older result judges it as the current code does.
  const ratio = Math.round(interquartileMean(paired.pairRatios) * 1000) / 1000;
  return { ...base, status: ratio >= target.atLeast ? "met" : "NOT met", ratio };
}

function judgeOnMedians(target: Target, scenarios: readonly ScenarioResult[]): TargetResult {
  const subject = scenarios.find((s) => s.id === target.subject);
  const baseline = scenarios.find((s) => s.id === target.baseline);
  if (subject === undefined || baseline === undefined) {
    return { ...target, status: "no data", runRatios: [], note: "not part of this run (--only)" };
  }
  const subjectSummary = subject.summary ?? summarizeScenario(subject);
  const baselineSummary = baseline.summary ?? summarizeScenario(baseline);
  if (subjectSummary.status === "unavailable" || baselineSummary.status === "unavailable") {
    const which = subjectSummary.status === "unavailable" ? subject.id : baseline.id;
    return { ...target, status: "not available", runRatios: [], note: `${which} is not available` };
  }
  if (subjectSummary.median === undefined || baselineSummary.median === undefined) {
    const which = subjectSummary.median === undefined ? subject.id : baseline.id;
    return { ...target, status: "no data", runRatios: [], note: `${which} has no verified run` };
  }
  const runRatios: number[] = [];
  for (const run of subject.runs) {
    const peer = baseline.runs.find((r) => r.run === run.run);
    if (run.status === "ok" && peer?.status === "ok" && run.slowCore !== true && peer.slowCore !== true) runRatios.push((run.rate as number) / (peer.rate as number));
  }
  const ratio = subjectSummary.median / baselineSummary.median;
  const efficiencyRatio =
    subjectSummary.efficiency !== undefined && baselineSummary.efficiency !== undefined ? subjectSummary.efficiency / baselineSummary.efficiency : undefined;
  const partial = subjectSummary.status === "partial" || baselineSummary.status === "partial";
  const conditions = [subject, baseline].flatMap((s) =>
    conditionsOf({ group: s.group, summary: s.summary ?? summarizeScenario(s) }).map((c) => `${s.id} ${c}`),
  );
  return {
    ...target,
    status: ratio >= target.atLeast ? "met" : "NOT met",
    ratio,
    runRatios,
    ...(efficiencyRatio === undefined ? {} : { efficiencyRatio }),
    conditions,
    ...(partial ? { note: "some runs failed; medians over verified runs only" } : {}),
  };
}
