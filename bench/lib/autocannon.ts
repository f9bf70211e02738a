// autocannon as the HTTP/1.1 load generator for the Connect JSON scenarios: its CLI in a child process
// on the load core, fixed flags, JSON output, and every response body compared with the expected one
// (`--expectBody`), so a wrong answer counts as a mismatch and fails the run.

import { fileURLToPath } from "node:url";
import { LOAD_CORE, pinned, runToCompletion } from "./processes.ts";

const AUTOCANNON_CLI = fileURLToPath(new URL("../../node_modules/autocannon/autocannon.js", import.meta.url));

/** Fixed autocannon flags: 64 connections, no pipelining, one worker. */
export const AUTOCANNON_FLAGS: readonly string[] = ["-c", "64", "-p", "1"];

/** What autocannon reported. */
export interface AutocannonReport {
  readonly reqPerSec: number;
  readonly seconds: number;
  readonly total: number;
  readonly status2xx: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  readonly resets: number;
  readonly meanLatencyMs: number | undefined;
  readonly p99LatencyMs: number | undefined;
}

/** Parses autocannon's `--json` output (the last JSON line). */
export function parseAutocannon(text: string): AutocannonReport {
  const line = text.trim().split("\n").pop() ?? "";
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`unexpected autocannon output:\n${text.slice(-1500)}`);
  }
  const requests = r.requests as { total?: number } | undefined;
  const latency = r.latency as { mean?: number; p99?: number } | undefined;
  const seconds = Number(r.duration);
  const total = Number(requests?.total);
  if (!Number.isFinite(seconds) || !Number.isFinite(total) || seconds <= 0) {
    throw new Error(`unexpected autocannon output:\n${line.slice(0, 1500)}`);
  }
  return {
    reqPerSec: total / seconds,
    seconds,
    total,
    status2xx: Number(r["2xx"]),
    non2xx: Number(r.non2xx),
    errors: Number(r.errors),
    timeouts: Number(r.timeouts),
    mismatches: Number(r.mismatches),
    resets: Number(r.resets ?? 0),
    meanLatencyMs: latency?.mean,
    p99LatencyMs: latency?.p99,
  };
}

/** Problems with a run, empty when every request got the expected 2xx body. */
export function checkAutocannon(report: AutocannonReport): string[] {
  const problems: string[] = [];
  if (report.total === 0) problems.push("no request completed");
  if (report.non2xx > 0) problems.push(`${report.non2xx} non-2xx responses`);
  if (report.mismatches > 0) problems.push(`${report.mismatches} responses with an unexpected body`);
  if (report.errors + report.timeouts > 0) problems.push(`${report.errors} errors, ${report.timeouts} timeouts`);
  if (report.status2xx !== report.total) problems.push(`${report.status2xx} 2xx of ${report.total} responses`);
  return problems;
}

/** The arguments of one autocannon run. */
export function autocannonArgs(url: string, body: string, expectBody: string, seconds: number): string[] {
  return [
    ...AUTOCANNON_FLAGS,
    "-d", String(seconds),
    "-m", "POST",
    "-H", "content-type=application/json",
    "-H", "connect-protocol-version=1",
    "-b", body,
    "-E", expectBody,
    "-j", "-n",
    url,
  ];
}

/** Runs autocannon on the load core and returns its parsed report (or throws with its output). */
export async function runAutocannon(
  url: string,
  body: string,
  expectBody: string,
  seconds: number,
  onSpawn?: (pid: number | undefined) => void,
): Promise<AutocannonReport> {
  const cmd = pinned(LOAD_CORE, process.execPath, [AUTOCANNON_CLI, ...autocannonArgs(url, body, expectBody, seconds)]);
  const out = await runToCompletion(cmd.command, cmd.args, { timeoutMs: seconds * 1000 + 30_000, onSpawn });
  if (out.code !== 0) {
    throw new Error(`autocannon exited with ${out.signal ?? out.code}: ${(out.stderr || out.stdout).trim().slice(-1000)}`);
  }
  return parseAutocannon(out.stdout);
}
