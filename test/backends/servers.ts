// Private nats-server / redis-server processes for tests that stop or restart them, plus small helpers.
// The shared servers on 4222 / 6379 are never touched by these.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A random suffix for stream, subject, consumer and key names of one test run. */
export function runId(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** A TCP port that was free a moment ago. */
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

/** Resolves once something accepts connections on `port`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs` with `what`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A server process that can be stopped and started again on the same port and data directory. */
export interface PrivateServer {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  /** SIGKILL by default: a crash, not a clean shutdown. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

function privateServer(port: number, url: string, command: string, args: string[], dir: string): PrivateServer {
  let child: ChildProcess | undefined;
  const stop = async (signal: NodeJS.Signals = "SIGKILL") => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
  };
  return {
    port,
    url,
    async start() {
      child = spawn(command, args, { stdio: "ignore" });
      await waitForPort(port);
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `nats-server -js` on a free port with its own store directory (not started yet). */
export async function privateNats(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "weft-nats-"));
  return privateServer(port, `nats://127.0.0.1:${port}`, "nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], dir);
}

/** `redis-server` on a free port with persistence off (not started yet). */
export async function privateRedis(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "weft-redis-"));
  return privateServer(
    port,
    `redis://127.0.0.1:${port}`,
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    dir,
  );
}
