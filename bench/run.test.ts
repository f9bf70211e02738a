// The harness checks itself: a quick run of real scenarios must produce verified numbers in the JSON
// and the reports, and a server that answers some calls wrongly must give a failed run with no number.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { h2loadAvailable } from "./lib/h2load.ts";
import type { BenchResults } from "./lib/run-bench.ts";
import { judgeTarget } from "./lib/results.ts";
import { measureTargetPaired } from "./lib/run-paired.ts";
import { runScenarioOnce, type RunSettings } from "./lib/run-scenario.ts";
import { SCENARIOS, type Scenario } from "./lib/scenarios.ts";
import { grpcRequestFrame } from "./lib/bench-request.ts";

const run = promisify(execFile);
const benchDir = fileURLToPath(new URL(".", import.meta.url));
// One folder per test, so neither sees what the other wrote (they pass alone and in any order).
const folders: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-test-"));
  folders.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe("npm run bench -- --quick", () => {
  it("writes verified numbers for the selected scenarios", { timeout: 110_000 }, async () => {
    const outDir = freshDir();
    // A baseline per table, and Weft's three scenarios, so a change in Weft's API breaks this test
    // instead of silently turning the bench's Weft rows into failures.
    const only = [
      ...(h2loadAvailable() ? ["grpc/raw-http2", "grpc/weft"] : []),
      "http1/raw-http",
      "http1/weft",
      "client/grpc-js",
      "client/weft",
    ].join(",");
    const { stdout } = await run(
      process.execPath,
      [join(benchDir, "run.ts"), "--quick", "--only", only, "--duration", "0.5", "--warmup", "0.2", "--out", outDir],
      // Six scenarios with core probes around each: ~20 s on a quiet machine, several times that on a busy one.
      { timeout: 100_000 },
    ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${err.message.split("\n")[0]}\n${err.stdout?.slice(-3_000) ?? ""}\n${err.stderr?.slice(-2_000) ?? ""}`);
    });
    expect(stdout).toContain("req/s (median)");

    const files = readdirSync(outDir);
    const jsonFile = files.find((f) => f.endsWith(".json"));
    expect(jsonFile).toBeDefined();
    expect(files).toContain("latest.md");
    expect(files).toContain("latest.svg");

    const results = JSON.parse(readFileSync(join(outDir, jsonFile as string), "utf8")) as BenchResults;
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.generators.autocannon).toContain("-c 64");
    expect(results.scenarios.map((s) => s.id).sort()).toEqual(only.split(",").sort());
    for (const scenario of results.scenarios) {
      expect(scenario.runs).toHaveLength(1);
      const [only1] = scenario.runs;
      expect(only1.status, `${scenario.id}: ${only1.problems.join("; ")}`).toBe("ok");
      expect(only1.rate).toBeGreaterThan(0);
      expect(scenario.summary?.median).toBe(only1.rate);
      expect(scenario.summary?.status).toBe("ok");
    }
    const http1 = results.scenarios.find((s) => s.id === "http1/raw-http");
    expect(http1?.runs[0].counts?.mismatches).toBe(0);
    expect(http1?.runs[0].counts?.status2xx).toBe(http1?.runs[0].counts?.total);
    const grpc = results.scenarios.find((s) => s.id === "grpc/raw-http2");
    if (grpc !== undefined) {
      const counts = grpc.runs[0].counts ?? {};
      expect(counts.done).toBe(counts.requests);
      expect(counts.dataBytes).toBe(counts.done * results.request.grpcResponseFrameBytes);
    }
    const client = results.scenarios.find((s) => s.id === "client/grpc-js");
    expect(client?.runs[0].counts?.failed).toBe(0);
    // Targets are judged on their paired measurement (both sides warm, load alternating in slices): the
    // median of the pairs' ratios, each pair's ratio from its two slices; the ratio of the tables'
    // medians is kept beside it (here: whatever quick numbers came out, met or not).
    const clientTarget = results.targets.find((t) => t.id === "client-vs-grpc-js");
    const pair = clientTarget?.paired;
    expect(pair?.problems).toEqual([]);
    expect(pair?.pairRatios).toHaveLength(2);
    pair!.pairRatios.forEach((r, i) => expect(r).toBeCloseTo(pair!.subject!.rates[i]! / pair!.baseline!.rates[i]!, 1));
    expect(clientTarget?.ratio).toBeCloseTo((pair!.pairRatios[0]! + pair!.pairRatios[1]!) / 2, 2);
    expect(clientTarget?.medianRatio).toBeCloseTo((results.scenarios.find((s) => s.id === "client/weft")?.summary?.median ?? 0) / (client?.summary?.median ?? 1));
    expect(pair?.subject?.usPerCall?.load).toBeGreaterThan(0);
    expect(["met", "NOT met"]).toContain(clientTarget?.status);
    expect(Object.keys(results.paired ?? {}).sort()).toEqual([...(h2loadAvailable() ? ["grpc-vs-raw"] : []), "client-vs-grpc-js", "json-vs-raw"].sort());

    const markdown = readFileSync(join(outDir, "latest.md"), "utf8");
    expect(markdown).toContain(results.machine.cpuModel);
    expect(markdown).toContain("raw node:http JSON (ceiling)");
    expect(markdown).toMatch(/Weft client → Weft server vs grpc-js → grpc-js \| [\d.]+× \| 2 pairs \|/);
    expect(readFileSync(join(outDir, "latest.svg"), "utf8")).toMatch(/^<svg[^>]*>[\s\S]*<\/svg>\n$/);
  });
});

describe("a server that answers some calls wrongly", () => {
  const settings = (): RunSettings => {
    const grpcBodyFile = join(freshDir(), "body.grpc");
    writeFileSync(grpcBodyFile, grpcRequestFrame);
    return { durationS: 0.3, warmupS: 0.2, maxWarmupS: 0.2, grpcBodyFile };
  };
  const flaky = (group: "grpc" | "http1"): Scenario => ({
    id: `${group}/flaky`,
    group,
    label: "flaky",
    server: join(benchDir, "fixtures", "flaky-server.ts"),
    mode: group === "grpc" ? "h2" : "h1",
  });

  it.skipIf(!h2loadAvailable())("gets a failed gRPC run with no rate (trailers-only errors are HTTP 200)", { timeout: 30_000 }, async () => {
    const result = await runScenarioOnce(flaky("grpc"), 1, settings());
    expect(result.status).toBe("failed");
    expect(result.rate).toBeUndefined();
    expect(result.problems.join("\n")).toMatch(/response DATA was \d+ bytes/);
  });

  it("gets a failed HTTP/1.1 run with no rate (wrong bodies with status 200)", { timeout: 30_000 }, async () => {
    const result = await runScenarioOnce(flaky("http1"), 1, settings());
    expect(result.status).toBe("failed");
    expect(result.rate).toBeUndefined();
    expect(result.problems.join("\n")).toMatch(/responses with an unexpected body/);
  });

  it("gets a failed paired measurement with no ratio and no verdict", { timeout: 60_000 }, async () => {
    const raw = SCENARIOS.find((s) => s.id === "http1/raw-http")!;
    const target = { id: "flaky-vs-raw", label: "flaky vs raw", subject: "http1/flaky", baseline: raw.id, atLeast: 1 };
    const paired = await measureTargetPaired(target, [flaky("http1"), raw], settings(), { pairs: 2, sliceMs: 1000 });
    expect(paired.ratio).toBeUndefined();
    expect(paired.problems.join("\n")).toMatch(/unexpected body|check before load/);
    const judged = judgeTarget(target, [], paired);
    expect(judged.status).toBe("no data");
    expect(judged.note).toMatch(/^paired measurement failed/);
  });
});
