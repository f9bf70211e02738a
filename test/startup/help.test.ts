// `--help` on the scripts that take flags (issue 18): exit 0 and every flag listed.
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

function help(script: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, "--help"], { cwd: ROOT, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout });
    });
  });
}

const cases: Array<[string, string[]]> = [
  ["bench/run.ts", ["--quick", "--runs", "--duration", "--warmup", "--out", "--only", "--wait-idle", "--render", "--profile"]],
  ["bench/mesh/run.ts", ["--runs", "--duration", "--warmup", "--concurrency", "--only", "NATS_URL"]],
  ["bench/mesh/overload.ts", ["--workloads", "--runs", "--duration", "--warmup", "--factor", "--sleep-ms", "--limit", "--cpu-ms", "--quiet-wait", "--server-node-flags", "--load-node-flags", "NATS_URL"]],
  ["scripts/start-distributed.ts", ["--instances", "--transport", "--gateway-port", "NATS_URL", "REDIS_URL", "INSTANCES"]],
];

describe("--help", () => {
  it.each(cases)("%s --help exits 0 and lists its flags", async (script, flags) => {
    const { code, stdout } = await help(script);
    expect(code).toBe(0);
    for (const flag of flags) expect(stdout, flag).toContain(flag);
  });
});
