// h2load (nghttp2) as the HTTP/2 load generator for the gRPC server scenarios: fixed flags, its text
// output parsed, and every run checked: all requests succeeded with 2xx, and the DATA bytes received
// match exactly one expected response frame per request (a gRPC error is a trailers-only response
// with no DATA, so it shows up as missing bytes even though HTTP says 200).
//
// The measured run uses a fixed request count (`-n`, sized from the warm-up's rate to last about the
// asked duration) rather than `-D`: with a count every request completes, so the checks are exact. A
// timed run stops with up to 64 calls in flight, whose headers or DATA may or may not have arrived.

import { existsSync } from "node:fs";
import { LOAD_CORE, pinned, runToCompletion } from "./processes.ts";

/** Where h2load is expected (Debian nghttp2-client). */
export const H2LOAD_PATH = "/usr/bin/h2load";

/** Fixed h2load flags: 4 connections x 16 concurrent streams = 64 calls in flight, one thread. */
export const H2LOAD_FLAGS: readonly string[] = ["-c", "4", "-m", "16", "-t", "1"];

/** Headers a gRPC client sends. */
export const GRPC_HEADERS: readonly string[] = ["-H", "content-type: application/grpc", "-H", "te: trailers"];

/** What h2load reported. */
export interface H2loadReport {
  readonly reqPerSec: number;
  readonly seconds: number;
  readonly total: number;
  readonly started: number;
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
  readonly status2xx: number;
  readonly statusOther: number;
  readonly dataBytes: number;
  readonly meanLatencyMs: number | undefined;
}

/** True when h2load is installed. */
export function h2loadAvailable(): boolean {
  return existsSync(H2LOAD_PATH);
}

/** The h2load version line, e.g. "h2load nghttp2/1.52.0". */
export async function h2loadVersion(): Promise<string> {
  const out = await runToCompletion(H2LOAD_PATH, ["--version"], { timeoutMs: 5000 });
  return out.stdout.trim();
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "ms" ? n : n * 1000;
}

/** Parses h2load's summary. Throws when a line is missing (a changed h2load must not pass silently). */
export function parseH2load(text: string): H2loadReport {
  const finished = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(text);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const traffic = /traffic: .*?, .*? headers .*?, [\d.]+\w*B \((\d+)\) data/.exec(text);
  if (!finished || !requests || !codes || !traffic) {
    throw new Error(`unexpected h2load output: ${text.slice(-600)}`);
  }
  const latency = /time for request:\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/.exec(text);
  const n = (s: string) => Number(s);
  return {
    seconds: finished[2] === "ms" ? n(finished[1]) / 1000 : n(finished[1]),
    reqPerSec: n(finished[3]),
    total: n(requests[1]),
    started: n(requests[2]),
    done: n(requests[3]),
    succeeded: n(requests[4]),
    failed: n(requests[5]),
    errored: n(requests[6]),
    timeout: n(requests[7]),
    status2xx: n(codes[1]),
    statusOther: n(codes[2]) + n(codes[3]) + n(codes[4]),
    dataBytes: n(traffic[1]),
    meanLatencyMs: latency ? toMs(latency[1], latency[2]) : undefined,
  };
}

/**
 * Problems with a run, empty when every request was answered correctly. `frameBytes` is the size of the
 * one response frame each call must carry. `exact` is for runs with a request count (`-n`): every
 * request must be done; a timed run (`-D`, the warm-up) may end with calls in flight, so there the
 * counts are checked within the in-flight bounds.
 */
export function checkH2load(report: H2loadReport, frameBytes: number, exact: boolean): string[] {
  const problems: string[] = [];
  if (report.done === 0) problems.push("no request completed");
  if (exact && (report.done !== report.total || report.started !== report.total)) {
    problems.push(`${report.done} of ${report.total} requests done (${report.started} started)`);
  }
  if (report.succeeded !== report.done) problems.push(`${report.done - report.succeeded} of ${report.done} requests did not succeed`);
  if (report.failed + report.errored + report.timeout > 0) {
    problems.push(`${report.failed} failed, ${report.errored} errored, ${report.timeout} timed out`);
  }
  if (report.statusOther > 0) problems.push(`${report.statusOther} non-2xx responses`);
  if (exact ? report.status2xx !== report.done : report.status2xx < report.done || report.status2xx > report.started) {
    problems.push(`${report.status2xx} 2xx responses for ${report.done} requests done`);
  }
  const min = report.done * frameBytes;
  const max = (exact ? report.done : report.started) * frameBytes;
  if (report.dataBytes < min || report.dataBytes > max || report.dataBytes % frameBytes !== 0) {
    problems.push(
      `response DATA was ${report.dataBytes} bytes, expected one ${frameBytes}-byte frame per call (${min}${max === min ? "" : `..${max}`}): some calls were not answered with the expected message`,
    );
  }
  return problems;
}

/** How long an h2load run may take before it is killed: generous, since a run sized from a fast warm-up can meet a slow spell. */
function h2loadTimeoutMs(amount: H2loadAmount): number {
  return "seconds" in amount ? amount.seconds * 1000 + 30_000 : 300_000;
}

/** What to run: for `seconds` (`-D`), or a fixed number of requests (`-n`). */
export type H2loadAmount = { readonly seconds: number } | { readonly requests: number };

/** The arguments of one h2load run against `url` posting `bodyFile`. */
export function h2loadArgs(url: string, bodyFile: string, amount: H2loadAmount): string[] {
  const count = "seconds" in amount ? ["-D", `${Math.max(1, Math.round(amount.seconds * 1000))}ms`] : ["-n", String(amount.requests)];
  return [...H2LOAD_FLAGS, ...count, "-d", bodyFile, ...GRPC_HEADERS, url];
}

/** Runs h2load on the load core and returns its parsed report (or throws with its output). */
export async function runH2load(
  url: string,
  bodyFile: string,
  amount: H2loadAmount,
  onSpawn?: (pid: number | undefined) => void,
): Promise<H2loadReport> {
  const cmd = pinned(LOAD_CORE, H2LOAD_PATH, h2loadArgs(url, bodyFile, amount));
  const out = await runToCompletion(cmd.command, cmd.args, { timeoutMs: h2loadTimeoutMs(amount), onSpawn });
  if (out.code !== 0) {
    throw new Error(`h2load exited with ${out.signal ?? out.code}: ${(out.stderr || out.stdout).trim().slice(-600)}`);
  }
  return parseH2load(out.stdout);
}
