// The parsers and judges the harness trusts: h2load's text, autocannon's JSON, the options, and the
// target verdicts (a failed run never counts, a missing Weft scenario is "not available", not a pass).

import { describe, expect, it } from "vitest";
import { checkAutocannon, parseAutocannon } from "./autocannon.ts";
import { checkH2load, parseH2load } from "./h2load.ts";
import { parseOptions } from "./options.ts";
import { judgeTarget, summarizeScenario, type ScenarioResult } from "./results.ts";
import { selectScenarios, TARGETS } from "./scenarios.ts";

const H2LOAD_OUTPUT = `finished in 503.12ms, 11488.00 req/s, 628.85KB/s
requests: 5744 total, 5744 started, 5744 done, 5744 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 5744 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 314.43KB (321972) total, 16.96KB (17372) headers (space savings 95.74%), 140.23KB (143600) data
                     min         max         mean         sd        +/- sd
time for request:      906us     48.70ms      5.50ms      6.08ms    91.09%
`;

describe("h2load", () => {
  it("parses the summary, in ms or s", () => {
    const report = parseH2load(H2LOAD_OUTPUT);
    expect(report).toMatchObject({ seconds: 0.50312, reqPerSec: 11488, done: 5744, status2xx: 5744, dataBytes: 143600, meanLatencyMs: 5.5 });
    expect(parseH2load(H2LOAD_OUTPUT.replace("503.12ms", "4.00s")).seconds).toBe(4);
    expect(checkH2load(report, 25, true)).toEqual([]);
  });

  it("fails a run where some calls got no response message (gRPC errors are HTTP 200)", () => {
    const report = parseH2load(H2LOAD_OUTPUT.replace("(143600) data", "(143575) data"));
    expect(checkH2load(report, 25, true).join()).toMatch(/response DATA was 143575 bytes/);
  });

  it("fails unfinished, failed and non-2xx requests", () => {
    const unfinished = parseH2load(H2LOAD_OUTPUT.replace("5744 started, 5744 done, 5744 succeeded", "5744 started, 5700 done, 5700 succeeded"));
    expect(checkH2load(unfinished, 25, true).join()).toMatch(/5700 of 5744 requests done/);
    const failed = parseH2load(H2LOAD_OUTPUT.replace("5744 succeeded, 0 failed", "5743 succeeded, 1 failed").replace("5744 2xx, 0 3xx, 0 4xx, 0 5xx", "5743 2xx, 0 3xx, 0 4xx, 1 5xx"));
    expect(checkH2load(failed, 25, true).join()).toMatch(/did not succeed.*1 non-2xx/);
  });

  it("rejects output it does not understand", () => {
    expect(() => parseH2load("starting benchmark...\n")).toThrow(/unexpected h2load output/);
  });
});

describe("autocannon", () => {
  const json = (over: object) =>
    JSON.stringify({ duration: 2, requests: { total: 1000 }, "2xx": 1000, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, resets: 0, latency: { mean: 1.2, p99: 5 }, ...over });

  it("computes the rate over the run and accepts a clean run", () => {
    const report = parseAutocannon(json({}));
    expect(report.reqPerSec).toBe(500);
    expect(checkAutocannon(report)).toEqual([]);
  });

  it("fails mismatched bodies, non-2xx and errors", () => {
    expect(checkAutocannon(parseAutocannon(json({ mismatches: 3 }))).join()).toMatch(/3 responses with an unexpected body/);
    expect(checkAutocannon(parseAutocannon(json({ non2xx: 2, "2xx": 998 }))).join()).toMatch(/2 non-2xx/);
    expect(checkAutocannon(parseAutocannon(json({ errors: 1 }))).join()).toMatch(/1 errors/);
  });
});

describe("options", () => {
  it("has defaults, and quick defaults", () => {
    expect(parseOptions([])).toMatchObject({ runs: 3, pairs: 16, durationS: 5, warmupS: 6, maxWarmupS: 30, quick: false, only: undefined });
    expect(parseOptions(["--quick"])).toMatchObject({ runs: 1, pairs: 2, durationS: 1, warmupS: 0.5, maxWarmupS: 0.5, quick: true });
    expect(parseOptions(["--pairs", "0"]).pairs).toBe(0);
    expect(() => parseOptions(["--pairs", "1.5"])).toThrow(/--pairs must be a positive integer/);
    expect(parseOptions(["--quick", "--runs", "2", "--duration", "0.5", "--only", "grpc,client/weft"])).toMatchObject({ runs: 2, durationS: 0.5, only: ["grpc", "client/weft"] });
    expect(parseOptions([])).toMatchObject({ waitIdleS: 0, profile: false });
    expect(parseOptions(["--wait-idle", "20", "--profile"])).toMatchObject({ waitIdleS: 20, profile: true });
    expect(parseOptions(["--render", "bench/results/x.json"])).toMatchObject({ render: "bench/results/x.json" });
  });

  it("names the bad flag", () => {
    expect(() => parseOptions(["--runs", "0"])).toThrow(/--runs must be a positive integer/);
    expect(() => parseOptions(["--duration", "x"])).toThrow(/--duration must be a positive number/);
    expect(() => parseOptions(["--fast"])).toThrow(/unknown option --fast/);
    expect(() => selectScenarios(["grpc/nope"])).toThrow(/unknown scenario grpc\/nope/);
    expect(selectScenarios(["http1"]).map((s) => s.id)).toEqual(["http1/raw-http", "http1/fastify", "http1/connect-node", "http1/weft"]);
  });
});

describe("targets", () => {
  const target = TARGETS.find((t) => t.id === "grpc-vs-grpc-js");
  if (target === undefined) throw new Error("target missing");
  const scenario = (id: string, runs: ScenarioResult["runs"]): ScenarioResult => {
    const s: ScenarioResult = { id, group: "grpc", label: id, generator: "h2load", runs };
    s.summary = summarizeScenario(s);
    return s;
  };
  const ok = (run: number, rate: number) => ({ run, status: "ok" as const, rate, problems: [] });
  const failed = (run: number) => ({ run, status: "failed" as const, problems: ["boom"] });

  it("judges the ratio of medians, with per-run ratios", () => {
    const result = judgeTarget(target, [scenario("grpc/weft", [ok(1, 140), ok(2, 130), ok(3, 150)]), scenario("grpc/grpc-js", [ok(1, 100), ok(2, 100), ok(3, 100)])]);
    expect(result.status).toBe("met");
    expect(result.ratio).toBeCloseTo(1.4);
    expect(result.runRatios).toEqual([1.4, 1.3, 1.5]);
    const low = judgeTarget(target, [scenario("grpc/weft", [ok(1, 120)]), scenario("grpc/grpc-js", [ok(1, 100)])]);
    expect(low.status).toBe("NOT met");
    expect(low.efficiencyRatio).toBeUndefined();
    const efficient = judgeTarget(target, [
      scenario("grpc/weft", [{ ...ok(1, 120), efficiency: 300 }]),
      scenario("grpc/grpc-js", [{ ...ok(1, 100), efficiency: 150 }]),
    ]);
    expect(efficient).toMatchObject({ status: "NOT met", efficiencyRatio: 2, conditions: [] });
  });

  it("calls a comparison inconclusive when other work took a benchmark core", () => {
    const noisy = { ...ok(1, 200), cpu: { server: 0.6, load: 0.1, serverCore: 1, loadCore: 0.15 } };
    const clean = { ...ok(1, 100), cpu: { server: 0.98, load: 0.1, serverCore: 0.99, loadCore: 0.12 } };
    const result = judgeTarget(target, [scenario("grpc/weft", [noisy]), scenario("grpc/grpc-js", [clean])]);
    expect(result.status).toBe("met");
    expect(result.conditions).toEqual(["grpc/weft noisy"]);
    // One disturbed run of three leaves the median clean; two of three do not.
    const weftMostlyClean = scenario("grpc/weft", [noisy, { ...clean, run: 2 }, { ...clean, run: 3 }]);
    expect(weftMostlyClean.summary).toMatchObject({ okRuns: 3, cleanRuns: 2 });
    expect(judgeTarget(target, [weftMostlyClean, scenario("grpc/grpc-js", [clean])]).conditions).toEqual([]);
    const weftMostlyNoisy = scenario("grpc/weft", [noisy, { ...noisy, run: 2 }, { ...clean, run: 3 }]);
    expect(judgeTarget(target, [weftMostlyNoisy, scenario("grpc/grpc-js", [clean])]).conditions).toEqual(["grpc/weft noisy"]);
    const bound = { ...ok(1, 100), cpu: { server: 0.5, load: 0.95, serverCore: 0.5, loadCore: 0.96 } };
    expect(judgeTarget(target, [scenario("grpc/weft", [clean]), scenario("grpc/grpc-js", [bound])]).conditions).toEqual(["grpc/grpc-js load-bound"]);
  });

  it("never counts a failed run, and says when there is nothing to judge", () => {
    const weft = scenario("grpc/weft", [failed(1), ok(2, 90), failed(3)]);
    expect(weft.summary).toMatchObject({ status: "partial", okRuns: 1, failedRuns: 2, median: 90, min: 90, max: 90 });
    const result = judgeTarget(target, [weft, scenario("grpc/grpc-js", [ok(1, 100), ok(2, 100), ok(3, 100)])]);
    expect(result).toMatchObject({ status: "NOT met", runRatios: [0.9] });
    const none = judgeTarget(target, [scenario("grpc/weft", [failed(1)]), scenario("grpc/grpc-js", [ok(1, 100)])]);
    expect(none).toMatchObject({ status: "no data" });
    expect(none.ratio).toBeUndefined();
    const unavailable = judgeTarget(target, [
      scenario("grpc/weft", [{ run: 1, status: "unavailable", problems: [], reason: "not built" }]),
      scenario("grpc/grpc-js", [ok(1, 100)]),
    ]);
    expect(unavailable.status).toBe("not available");
  });
});
