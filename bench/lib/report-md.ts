// The markdown report: one table per scenario group, then the targets, then how it was measured.

import type { BenchResults } from "./run-bench.ts";
import type { ScenarioGroup } from "./scenarios.ts";
import { conditionsOf, LOAD_BOUND_CPU, NOISY_OTHER_CPU, SLOW_CORE_MARGIN, type ScenarioResult, type TargetResult } from "./results.ts";

const GROUP_TITLES: Record<ScenarioGroup, string> = {
  grpc: "gRPC over h2c, tiny unary (server on its own core)",
  http1: "Connect JSON over HTTP/1.1, tiny unary (server on its own core)",
  client: "Client → server, 64 calls in flight, tiny unary (client and server on separate cores)",
  mtls: "Mutual TLS, client → server, 64 calls in flight on one warm connection (client and server on separate cores)",
};

/** 12345.6 -> "12,346". */
export function formatRate(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function pctShare(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function cpu(value: number | undefined): string {
  return value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function rateCell(s: ScenarioResult): string {
  const sum = s.summary;
  if (sum === undefined) return "–";
  if (sum.status === "unavailable") return "not available";
  if (sum.median === undefined) return "**FAILED**";
  const conditions = conditionsOf(s);
  const marks = `${conditions.includes("load-bound") ? " †" : ""}${conditions.includes("noisy") ? " ‡" : ""}`;
  return `**${formatRate(sum.median)}**${marks}`;
}

function rangeCell(s: ScenarioResult): string {
  const sum = s.summary;
  if (sum?.min === undefined || sum.max === undefined) return "–";
  return `${formatRate(sum.min)} – ${formatRate(sum.max)}`;
}

function runsCell(s: ScenarioResult): string {
  const sum = s.summary;
  if (sum === undefined || sum.status === "unavailable") return "–";
  const slow = (sum.slowRuns ?? 0) > 0 ? `, ${sum.slowRuns} on a slow core${sum.slowRuns === sum.okRuns ? " (all: kept)" : " (dropped)"}` : "";
  const clean = (sum.cleanRuns === undefined ? "" : `, ${sum.cleanRuns} clean`) + slow;
  return `${sum.okRuns}/${s.runs.length}${sum.failedRuns > 0 ? ` (${sum.failedRuns} failed${clean})` : clean ? ` (${clean.slice(2)})` : ""}`;
}

/** "0.91× (0.88–0.93)". */
function ratioCell(t: TargetResult): string {
  if (t.ratio === undefined) return "–";
  const range = t.runRatios.length > 1 ? ` (runs ${Math.min(...t.runRatios).toFixed(2)}–${Math.max(...t.runRatios).toFixed(2)})` : "";
  return `${t.ratio.toFixed(2)}×${range}`;
}

/** A target's row when it was measured as a pair. */
function pairedRow(t: TargetResult, results: BenchResults): string {
  const p = t.paired;
  const x = (n: number | undefined, digits = 2) => (n === undefined ? "–" : `${n.toFixed(digits)}×`);
  if (p === undefined || p.ratio === undefined) return `| ${t.label} | – | – | ≥ ${t.atLeast.toFixed(2)}× | ${statusCell(t)} | – | ${x(t.medianRatio)} | – | – |`;
  // The judged side: the client in client and mTLS targets, the server otherwise.
  const group = results.scenarios.find((s) => s.id === t.subject)?.group;
  const side = group === "client" || group === "mtls" ? "load" : "server";
  const us = (s: typeof p.subject) => s?.usPerCall?.[side];
  const usRatio = us(p.subject) !== undefined && us(p.baseline) !== undefined ? us(p.baseline)! / us(p.subject)! : undefined;
  const quartiles = p.ratioQuartiles === undefined ? `${p.pairRatios.length} pairs` : `${p.ratioQuartiles[0].toFixed(2)}–${p.ratioQuartiles[1].toFixed(2)} (${p.pairRatios.length} pairs)`;
  const warm = `${(p.warmupMs / 1000).toFixed(1)} s${p.steady === false ? " (still rising)" : p.steady === undefined ? " (fixed)" : ""}`;
  const limits = (t.conditions ?? []).length > 0 ? ` (${t.conditions!.join(", ")} †)` : "";
  return `| ${t.label} | ${x(t.ratio, 3)} | ${quartiles} | ≥ ${t.atLeast.toFixed(2)}× | ${statusCell(t).replace(" (inconclusive: see conditions)", " (inconclusive)")}${limits} | ${p.subject?.rate.toLocaleString("en-US")} / ${p.baseline?.rate.toLocaleString("en-US")} | ${x(t.medianRatio)} | ${x(usRatio)} (${side}) | ${warm} |`;
}

function statusCell(t: TargetResult): string {
  const doubt = (t.conditions ?? []).length > 0 ? " (inconclusive: see conditions)" : "";
  if (t.status === "met") return `met${doubt}`;
  if (t.status === "NOT met") return `**NOT met**${doubt}`;
  return `${t.status}${t.note ? ` (${t.note})` : ""}`;
}

function usCell(s: ScenarioResult): string {
  const us = s.summary?.usPerCall;
  if (us === undefined) return "–";
  const f = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(1));
  return `${f(us.server)} / ${f(us.load)}`;
}

function warmupCell(s: ScenarioResult): string {
  const sum = s.summary;
  if (sum?.warmupMs === undefined) return "–";
  return `${(sum.warmupMs / 1000).toFixed(1)} s${(sum.unsteadyWarmUps ?? 0) > 0 ? ` (${sum.unsteadyWarmUps} still rising)` : ""}`;
}

function gcCell(s: ScenarioResult): string {
  const gc = s.summary?.gcPer1000Calls;
  return gc === undefined ? "–" : `${gc.scavenges.toFixed(2)} scavenges, ${gc.scavengeMs.toFixed(2)} ms`;
}

/** How many verified runs the core probe left out of the medians, and the probe's range. */
function slowCoreSummary(results: BenchResults): string {
  const runs = results.scenarios.flatMap((s) => s.runs).filter((r) => r.status === "ok" && r.probe !== undefined);
  if (runs.length === 0) return "Core speed probe: not run.";
  const slow = runs.filter((r) => r.slowCore === true).length;
  const times = (core: "serverMs" | "loadMs") => runs.flatMap((r) => [r.probe!.before[core], r.probe!.after[core]]).filter(Number.isFinite);
  const range = (xs: number[]) => (xs.length === 0 ? "–" : `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} ms`);
  return (
    `Core speed probe (a fixed loop timed on each core before and after every measured run): server core ${range(times("serverMs"))}, load core ${range(times("loadMs"))}. ` +
    `${slow} of ${runs.length} verified runs had a probe more than ${SLOW_CORE_MARGIN * 100}% slower than the fastest and were left out of the medians` +
    `${slow > 0 ? " (a scenario whose runs were all slow keeps them, and its row says so)" : ""}.`
  );
}

function idleSummary(results: BenchResults): string {
  const runs = results.scenarios.flatMap((s) => s.runs).filter((r) => r.idleWait !== undefined);
  const idle = runs.filter((r) => r.idleWait?.idle).length;
  return `${idle} of ${runs.length} runs started on idle cores`;
}

/** The whole markdown report. `chartFile` is the SVG's file name, linked from the report. */
export function renderMarkdown(results: BenchResults, chartFile: string): string {
  const m = results.machine;
  const lines: string[] = [];
  lines.push(`# Weft benchmarks, ${results.startedAt}`);
  lines.push("");
  lines.push(`Command: \`${results.command}\``);
  lines.push("");
  const rev = results.revision;
  lines.push(
    `Code: commit ${rev.commit.slice(0, 12)}${rev.uncommitted.length > 0 ? `, plus uncommitted changes in ${rev.uncommitted.length} file(s) under mesh/, bench/ or gen/ (listed in the JSON)` : ""}.`,
  );
  lines.push("");
  lines.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; ${m.pinning}. ` +
      `Load average (1 min) ${m.loadAverageStart} at start, ${m.loadAverageEnd ?? "?"} at end.`,
  );
  lines.push("");
  const o = results.options;
  lines.push(
    `${o.runs} run(s) per scenario, ${o.durationS} s measured after a warm-up of at least ${o.warmupS} s that goes on until the rate stops rising (at most ${o.maxWarmupS ?? o.warmupS} s), scenarios interleaved; ` +
      `median (min – max) of verified runs.${o.quick ? " **Quick mode: checks that everything runs, not how fast.**" : ""}` +
      `${o.waitIdleS > 0 ? ` Before each run the harness waited up to ${o.waitIdleS} s for both cores to be idle (${idleSummary(results)}).` : ""}` +
      `${o.profile ? " **Profiled run (node --cpu-prof): numbers are lower than without profiling.**" : ""}`,
  );
  lines.push("");
  lines.push(slowCoreSummary(results));
  for (const group of ["grpc", "http1", "client", "mtls"] as const) {
    const rows = results.scenarios.filter((s) => s.group === group);
    if (rows.length === 0) continue;
    const clients = group === "client" || group === "mtls";
    lines.push("");
    lines.push(`## ${GROUP_TITLES[group]}`);
    lines.push("");
    const unit = clients ? "calls/s" : "req/s";
    lines.push(
      clients
        ? `Load: each client in its own process on the load core (bench/clients/<client>.ts), 64 calls in flight on one connection, every response decoded and checked.`
        : `Load: ${rows[0].generator}`,
    );
    lines.push("");
    lines.push(
      `| ${clients ? "client → server" : "server"} | ${unit} (median) | range | runs verified | server CPU | ${clients ? "client" : "generator"} CPU | others on cores (server / load) | ${unit.replace("/s", "")} per ${clients ? "client" : "server"} CPU-s | CPU µs per call (server / ${clients ? "client" : "generator"}) | warm-up |${clients ? " client GC per 1,000 calls |" : ""}`,
    );
    lines.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${clients ? "---:|" : ""}`);
    for (const s of rows) {
      lines.push(
        `| ${s.label} | ${rateCell(s)} | ${rangeCell(s)} | ${runsCell(s)} | ${cpu(s.summary?.serverCpu)} | ${cpu(s.summary?.loadCpu)} | ${cpu(s.summary?.otherOnServerCore)} / ${cpu(s.summary?.otherOnLoadCore)} | ${s.summary?.efficiency === undefined ? "–" : formatRate(s.summary.efficiency)} | ${usCell(s)} | ${warmupCell(s)} |${clients ? ` ${gcCell(s)} |` : ""}`,
      );
    }
    const legend: string[] = [];
    if (rows.some((r) => conditionsOf(r).includes("load-bound"))) {
      legend.push(`† the ${clients ? "client" : "load generator"} was at ≥ ${LOAD_BOUND_CPU * 100}% of its core: this may be its limit, not the server's.`);
    }
    if (rows.some((r) => conditionsOf(r).includes("noisy"))) {
      legend.push(`‡ in most runs other work took ≥ ${NOISY_OTHER_CPU * 100}% of the server's or the load's core: the number is depressed by noise.`);
    }
    if (legend.length > 0) lines.push("", ...legend.map((l) => `${l}  `));
  }
  if (results.targets.length > 0) {
    lines.push("");
    const paired = results.targets.some((t) => t.paired !== undefined);
    lines.push(paired ? "## Targets (paired: both sides warm, load alternating in one-second slices)" : "## Targets (ratios of medians from this run)");
    lines.push("");
    lines.push(
      paired
        ? "The verdict is the interquartile mean (the mean of the middle half) of the slice pairs' throughput ratios (subject / baseline, adjacent slices, which side goes first alternating): a slow spell of a virtual CPU falls on both slices of a pair. The middle half of the pair ratios shows how much they spread. Beside it, the ratio of the scenario tables' medians (runs minutes apart), and the CPU µs per call of the judged side from the pairs (baseline / subject: above 1 means the subject spends less), which moves least with noise."
        : "The verdict is on throughput. The per-CPU-s ratio (calls per CPU-second of the judged side) is shown beside it because it moves much less when other work shares the machine; it is not the target.",
    );
    lines.push("");
    if (paired) {
      lines.push("| target | ratio (paired) | middle half of pairs | goal | result | rates (subject / baseline) | ratio of table medians | CPU µs per call ratio | warm-up |");
      lines.push("|---|---:|---:|---:|---|---:|---:|---:|---:|");
      for (const t of results.targets) lines.push(pairedRow(t, results));
    } else {
      lines.push("| target | ratio | goal | result | conditions | per-CPU-s ratio |");
      lines.push("|---|---:|---:|---|---|---:|");
      for (const t of results.targets) {
        const flags = (t.conditions ?? []).map((c) => `${c}${c.endsWith("noisy") ? " ‡" : " †"}`);
        lines.push(`| ${t.label} | ${ratioCell(t)} | ≥ ${t.atLeast.toFixed(2)}× | ${statusCell(t)} | ${flags.length > 0 ? flags.join(", ") : "clean"} | ${t.efficiencyRatio === undefined ? "–" : `${t.efficiencyRatio.toFixed(2)}×`} |`);
      }
    }
  }
  const problems = results.scenarios.flatMap((s) =>
    s.runs.flatMap((r) =>
      r.status === "failed" ? [`- ${s.id} run ${r.run}: ${r.problems.join("; ")}`] : r.status === "unavailable" && r.run === 1 ? [`- ${s.id}: not available: ${r.reason}`] : [],
    ),
  );
  if (problems.length > 0) {
    lines.push("");
    lines.push("## Failed and unavailable");
    lines.push("");
    lines.push(...problems);
  }
  const ran = results.scenarios.flatMap((s) => {
    const run = s.runs.find((r) => r.serverDetail !== undefined);
    if (run === undefined) return [];
    return [`- ${s.id}: ${run.serverDetail}${run.clientDetail ? `; client: ${run.clientDetail}` : ""}`];
  });
  if (ran.length > 0) {
    lines.push("");
    lines.push("## What ran");
    lines.push("");
    lines.push(...ran);
  }
  const profiled = results.scenarios.flatMap((s) => {
    const run = s.runs.find((r) => r.profiles?.server !== undefined || r.profiles?.client !== undefined);
    if (run?.profiles === undefined) return [];
    return (["server", "client"] as const).flatMap((side) => {
      const p = run.profiles?.[side];
      if (p === undefined) return [];
      return [
        "",
        `### ${s.id}, ${side} (run ${run.run}): GC ${pctShare(p.gcShare)} of busy time, idle ${pctShare(p.idleShare)}`,
        "",
        `\`${p.file}\``,
        "",
        "| self time | function |",
        "|---:|---|",
        ...p.top.map((e) => `| ${pctShare(e.selfShare)} | \`${e.name.replace(/\|/g, "\\|")}\` |`),
      ];
    });
  });
  if (profiled.length > 0) {
    lines.push("");
    lines.push("## CPU profiles (whole process life: start-up, warm-up and load; shares of busy samples)");
    lines.push(...profiled);
  }
  lines.push("");
  lines.push("## How it is measured");
  lines.push("");
  lines.push(...results.notes.map((n) => `- ${n}`));
  lines.push("");
  lines.push(`![chart](${chartFile})`);
  lines.push("");
  return lines.join("\n");
}
