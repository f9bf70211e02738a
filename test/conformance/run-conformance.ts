// Runs the Connect conformance suite (connectconformance, built into .tools/bin by
// scripts/dev-services.sh) against Weft's server or client, bounded in time, and returns the totals
// and the names of failed cases. `node test/conformance/run-conformance.ts [server|client]` runs it
// outside vitest (npm run conformance).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exitOnStartupError, readCommandLine, WeftError } from "../../mesh/errors/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

/** Where scripts/dev-services.sh puts the runner. */
export const RUNNER_PATH = join(root, ".tools/bin/connectconformance");

/** What one run of the suite reported. */
export interface ConformanceResult {
  readonly mode: "server" | "client";
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  /** Names of failed cases, with the runner's reason lines. */
  readonly failures: readonly string[];
  readonly elapsedMs: number;
  /** The runner's whole output, for a failure message. */
  readonly output: string;
}

/** Options of `runConformance`. */
export interface RunConformanceOptions {
  /** Ends the run (SIGTERM, then SIGKILL) after this long, in ms. Default 900000 (15 minutes). */
  readonly timeoutMs?: number;
  /** RPCs the runner issues at once in server mode. Default 4. */
  readonly parallel?: number;
  /** Servers under test running at once (each a Node process that must answer within the runner's 10 s). Default 2. */
  readonly maxServers?: number;
}

/** The patterns of known-failing.txt (comments and blank lines dropped). */
export function knownFailing(): string[] {
  const file = join(here, "known-failing.txt");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

/** The runner's verdict when a server under test did not answer within its fixed 10 s (machine load, not a behaviour). */
const SERVER_START_TIMEOUT = "error reading server response: timed out waiting for result from server";

/**
 * Runs the suite for `mode`; throws when the runner is missing or does not report totals. In server
 * mode, cases failed only because their server process did not start within the runner's 10 s are
 * run once more on their own (`retried` counts them); any other failure stands.
 */
export async function runConformance(mode: "server" | "client", options: RunConformanceOptions = {}): Promise<ConformanceResult & { readonly retried: number }> {
  const first = await runOnce(mode, options, undefined);
  const startFailures = first.failures.filter((f) => f.includes(SERVER_START_TIMEOUT));
  if (mode !== "server" || startFailures.length === 0 || startFailures.length !== first.failures.length) return { ...first, retried: 0 };
  const names = startFailures.map((f) => f.slice("FAILED: ".length, f.indexOf(":\n")));
  const list = join(mkdtempSync(join(tmpdir(), "weft-conformance-")), "retry.txt");
  writeFileSync(list, names.join("\n") + "\n");
  const again = await runOnce(mode, options, list);
  return { ...again, total: first.total, passed: first.passed + again.passed, elapsedMs: first.elapsedMs + again.elapsedMs, output: `${first.output}\n--- retry of ${names.length} cases ---\n${again.output}`, retried: names.length };
}

async function runOnce(mode: "server" | "client", options: RunConformanceOptions, only: string | undefined): Promise<ConformanceResult> {
  if (!existsSync(RUNNER_PATH)) {
    throw new Error(`${RUNNER_PATH} is missing: run \`bash scripts/dev-services.sh\` to build the Connect conformance runner (connectrpc.com/conformance v1.0.5)`);
  }
  const args = ["--mode", mode, "--conf", join(here, `${mode}-config.yaml`)];
  if (only !== undefined) args.push("--run", `@${only}`);
  // Two cores shared with other suites: fewer, busier servers start within the runner's 10 s.
  if (mode === "server") args.push("--parallel", String(options.parallel ?? 4), "--max-servers", String(options.maxServers ?? 2));
  for (const pattern of knownFailing()) args.push("--known-failing", pattern);
  args.push("--", process.execPath, join(here, `${mode}.ts`));
  const started = performance.now();
  const child = spawn(RUNNER_PATH, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const timeoutMs = options.timeoutMs ?? 900_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  }, timeoutMs);
  await new Promise<void>((resolve) => child.once("close", () => resolve()));
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  if (timedOut) throw new Error(`connectconformance --mode ${mode} did not finish within ${timeoutMs} ms\n${output.slice(-4000)}`);
  const total = /Total cases: (\d+)/.exec(output);
  const counts = /(\d+) passed, (\d+) failed/.exec(output);
  if (total === null || counts === null) throw new Error(`connectconformance --mode ${mode} reported no totals\n${output.slice(-4000)}`);
  const failures = output.split("\n").filter((l) => l.startsWith("FAILED: ") || l.startsWith("\t")).join("\n").split(/\n(?=FAILED: )/).filter((l) => l !== "");
  return { mode, total: Number(total[1]), passed: Number(counts[1]), failed: Number(counts[2]), failures, elapsedMs, output };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { positionals } = readCommandLine({
    usage: "npm run conformance -- [server] [client]   (node test/conformance/run-conformance.ts; both when none is named)",
    summary: "The Connect conformance suite (.tools/bin/connectconformance v1.0.5, built by npm run services) against\nWeft's server (host + engine) and client (gRPC, Connect and gRPC-Web transports).",
    flags: {},
    positionals: [
      { name: "server", description: "judge Weft's server" },
      { name: "client", description: "judge Weft's client" },
    ],
    env: [{ name: "CONFORMANCE_VERBOSE", description: "1: the server under test logs as a host does" }],
  });
  for (const p of positionals) if (p !== "server" && p !== "client") exitOnStartupError(new WeftError("WEFT_ERR_STARTUP", `unknown mode ${JSON.stringify(p)}: server or client`));
  const modes = positionals as ("server" | "client")[];
  let failed = 0;
  for (const mode of modes.length > 0 ? modes : (["server", "client"] as const)) {
    const r = await runConformance(mode);
    for (const f of r.failures) console.log(f);
    console.log(`${mode}: ${r.total} cases, ${r.passed} passed, ${r.failed} failed (${(r.elapsedMs / 1000).toFixed(0)} s${r.retried > 0 ? `; ${r.retried} re-run after their server missed the runner's 10 s start` : ""})`);
    failed += r.failed;
  }
  process.exit(failed === 0 ? 0 : 1);
}
