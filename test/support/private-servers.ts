// Private nats-server and redis-server processes for tests that stop, restart or kill them; the shared
// servers (servers.ts) are never touched. A server is ready when its own log says it listens: nats-server
// binds a port of its choosing (-p -1) and prints it; redis-server cannot bind port 0, so it tries a free
// port and, should another process take it first, its own log says so and another port is tried.

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { candidatePort, spawnUntilReady, stopProcess } from "../../scripts/cluster/loopback-process.ts";

/** A server process that can be stopped and started again on the same port and data directory. */
export interface PrivateServer {
  readonly port: number;
  readonly url: string;
  /** Starts it again after stop(), on the same port. */
  start(): Promise<void>;
  /** SIGKILL by default: a crash, not a clean shutdown. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server hangs with its sockets open (a partition, not a crash); `resume()` undoes it. */
  pause(): void;
  resume(): void;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

/** `nats-server -js` on a port it picks, with its own store directory; started. */
export async function privateNats(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), "weft-nats-"));
  const args = (port: number) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir];
  const listening = /Listening for client connections on 127\.0\.0\.1:(\d+)[\s\S]*Server is ready/;
  let { child, match } = await spawnUntilReady("nats-server", args(-1), listening);
  const port = Number(match[1]);
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    async start() {
      ({ child } = await spawnUntilReady("nats-server", args(port), listening));
    },
    stop: (signal = "SIGKILL") => stopProcess(child, signal),
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    async dispose() {
      await stopProcess(child, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `redis-server` with persistence off on a free port; started. */
export async function privateRedis(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), "weft-redis-"));
  const args = (port: number) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const ready = /Ready to accept connections/;
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; child === undefined; attempt++) {
    port = await candidatePort();
    try {
      ({ child } = await spawnUntilReady("redis-server", args(port), ready));
    } catch (err) {
      // Taken between the probe and the bind: redis-server said so and exited; try another port.
      if (attempt >= 5 || !/Address already in use/.test(String(err))) throw err;
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      ({ child } = await spawnUntilReady("redis-server", args(port), ready));
    },
    stop: (signal = "SIGKILL") => stopProcess(child, signal),
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    async dispose() {
      await stopProcess(child, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
