// `npm run bench`: every scenario side by side in one run, verified, with Weft's ratios against its
// peers. See bench/lib/options.ts for the flags and bench/README.md for what each scenario measures.

import { readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { exitOnStartupError, WeftError } from "../mesh/errors/index.ts";
import { parseOptions, USAGE } from "./lib/options.ts";
import { renderMarkdown } from "./lib/report-md.ts";
import { killChildren } from "./lib/processes.ts";
import { judge, runBench, writeResults, type BenchResults } from "./lib/run-bench.ts";
import { selectScenarios } from "./lib/scenarios.ts";
import { benchMtlsDir } from "./lib/mtls.ts";

const argv = process.argv.slice(2);
let options;
try {
  options = parseOptions(argv);
  selectScenarios(options.only); // fails fast on an unknown scenario name
} catch (error) {
  exitOnStartupError(new WeftError("WEFT_ERR_STARTUP", (error as Error).message));
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

if (options.render !== undefined) {
  // Same data, current judging and report code: for results taken before a change to either.
  const previous = JSON.parse(readFileSync(options.render, "utf8")) as BenchResults;
  judge(previous);
  const written = writeResults(previous, dirname(options.render));
  console.log(`re-rendered ${written.markdown}, ${written.svg}, latest.md and latest.svg`);
  process.exit(0);
}

// Interrupted (Ctrl-C, a CI timeout): stop the server and load generator this run started.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

const results = await runBench(options, argv, (line) => console.log(line));
// The mTLS scenarios' credentials were this run's only (bench/lib/mtls.ts).
rmSync(benchMtlsDir(), { recursive: true, force: true });
const written = writeResults(results, options.outDir);
console.log("");
console.log(renderMarkdown(results, written.svg).replace(/\n!\[chart\].*\n/, "\n"));
console.log(`results: ${written.json}`);
console.log(`         ${written.markdown} (also ${written.latestMarkdown})`);
console.log(`         ${written.svg}`);
console.log("");
for (const t of results.targets) {
  const ratio = t.ratio === undefined ? "–" : `${t.ratio.toFixed(2)}×`;
  const verdict = t.status === "met" ? "met" : t.status === "NOT met" ? "NOT met" : `${t.status}${t.note ? ` (${t.note})` : ""}`;
  const doubt = (t.conditions ?? []).length > 0 ? ` (inconclusive: ${t.conditions?.join(", ")})` : "";
  console.log(`target ${t.label}: ${ratio} (goal ≥ ${t.atLeast.toFixed(2)}×) ${verdict}${doubt}`);
}

// A scenario that crashed or answered wrongly is a broken benchmark: fail the command so CI sees it.
// Targets not met and scenarios not available yet are reported, not failures of the harness.
const broken = results.scenarios.filter((s) => s.summary?.status === "failed" || s.summary?.status === "partial");
const brokenPairs = Object.entries(results.paired ?? {}).filter(([, p]) => p.ratio === undefined);
if (broken.length > 0) console.error(`\n${broken.length} scenario(s) had failed runs: ${broken.map((s) => s.id).join(", ")}`);
for (const [id, p] of brokenPairs) console.error(`paired measurement of ${id} failed: ${p.problems.join("; ")}`);
if (broken.length > 0 || brokenPairs.length > 0) process.exit(1);
