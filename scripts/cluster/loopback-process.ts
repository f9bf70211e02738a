// Server processes of the loopback clusters (scripts/cluster): spawn one and wait for its own log to say
// it is ready, kill it, and find a port to offer programs that cannot bind port 0 (redis-server, postgres).

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** How long a server may take to report ready, in ms. */
const START_TIMEOUT_MS = 20_000;
/** Most output kept for the error message of a server that failed to start. */
const MAX_LOG_CHARS = 65_536;

/** Spawns `command` and resolves with it and the first match of `ready` in its output; rejects (killing it) when it exits or times out first. */
export function spawnUntilReady(command: string, args: readonly string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} did not report ready within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      if (output.length < MAX_LOG_CHARS) output += chunk.toString();
      const match = ready.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      // Keep draining its output so a chatty server never blocks on a full pipe.
      child.stdout!.off("data", onData).resume();
      child.stderr!.off("data", onData).resume();
      resolve({ child, match });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Sends `signal` (SIGKILL by default: a crash) and resolves once the process has exited. */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/** A loopback port nothing listened on a moment ago: only a candidate, the server's own log confirms it. */
export function candidatePort(): Promise<number> {
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

/** Runs `start(port)` on candidate ports until one is not taken by another process meanwhile (at most 5 tries). */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<{ port: number; started: T }> {
  for (let attempt = 1; ; attempt++) {
    const port = await candidatePort();
    try {
      return { port, started: await start(port) };
    } catch (err) {
      if (attempt >= 5 || !/Address already in use|could not bind/i.test(String(err))) throw err;
    }
  }
}
