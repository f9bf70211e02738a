// Runs the weft CLI as a user does (bin/weft.js on this Node) and the one-process shop it talks to.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repo = fileURLToPath(new URL("../../", import.meta.url));
const WEFT = fileURLToPath(new URL("../../bin/weft.js", import.meta.url));

/** What one CLI run printed and how it exited. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `weft ...args` (stdin from `input` when given), bounded by `timeoutMs`. */
export function weft(args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string, timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [WEFT, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: "1", NATS_URL: "", WEFT_URL: "", ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/** The path of the CLI's entry, for a terminal to run. */
export const WEFT_BIN = WEFT;

/** A running one-process shop (npm start) on a free port. */
export interface RunningShop {
  readonly url: string;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node services/start.ts` on a free port with `adminToken`, waits for its URL. */
export async function startShop(adminToken: string): Promise<RunningShop> {
  const proc = spawn(process.execPath, ["services/start.ts"], {
    cwd: repo,
    env: { ...process.env, PORT: "0", WEB: "off", COMPUTE: "inline", WEFT_ADMIN_TOKEN: adminToken, LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the shop did not start: ${out}`)), 60_000);
    proc.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Weft shop: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => reject(new Error(`the shop exited with ${code}: ${out}`)));
  });
  return {
    url,
    proc,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await done;
    },
  };
}
