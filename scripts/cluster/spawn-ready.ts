// Starting a server program and knowing when it is ready: its own log says so (a line it prints once it
// listens). Shared by the cluster starters here, the launcher's nats-server and the tests' private servers.

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";

/** Default of {@link SpawnReadyOptions.timeoutMs}. */
const START_TIMEOUT_MS = 15_000;
/** Most log text kept while waiting (a server that never gets ready prints it in the error). */
const LOG_LIMIT = 65_536;

/** Options of {@link spawnUntilReady}. */
export interface SpawnReadyOptions {
  /** How long to wait for `ready` to match, in milliseconds; the process is killed after it. Default 15000. */
  readonly timeoutMs?: number;
  /** Its own process group, so a terminal's Ctrl-C does not reach it before its owner is done. Default false. */
  readonly detached?: boolean;
  /** Added to the error when the program exits first (what to install, for instance). Default none. */
  readonly hint?: string;
}

/**
 * Spawns `command` and resolves with the first match of `ready` in its output (stdout and stderr);
 * rejects, with the output, when it exits first or stays silent for `timeoutMs`.
 */
export function spawnUntilReady(command: string, args: readonly string[], ready: RegExp, options: SpawnReadyOptions = {}): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const timeoutMs = options.timeoutMs ?? START_TIMEOUT_MS;
  const spawnOptions: SpawnOptions = { stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false };
  const child = spawn(command, args, spawnOptions);
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} did not report ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      if (output.length < LOG_LIMIT) output += chunk.toString();
      const match = ready.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData).resume();
      child.stderr!.off("data", onData).resume();
      child.off("exit", onExit);
      resolve({ child, match });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready${options.hint ? ` (${options.hint})` : ""}:\n${output}`));
    };
    // A missing program is an 'error' (ENOENT), followed by no 'exit' with a code of its own.
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start${options.hint ? ` (${options.hint})` : ""}: ${err.message}`));
    });
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Sends `signal` to a child that still runs and waits for it to end. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/**
 * A port on 127.0.0.1 that nothing listened on when this was called: only a candidate (another process
 * may take it in between), for programs that cannot bind port 0 and report what they got.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
