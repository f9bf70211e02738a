// A process told to stop while it is still starting (a rolling update, Ctrl-C during a slow start) exits
// 0 and says so, instead of dying of the signal, which its launcher or orchestrator would count as a
// crash. Each entry point is held in start-up by a "NATS server" that accepts connections and never
// speaks; once the process has connected to it, it gets SIGTERM.

import { spawn } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

let silent: Server;
let port: number;
const connected: Array<() => void> = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    connected.shift()?.();
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  port = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

async function stopWhileStarting(script: string, env: Record<string, string> = {}) {
  const reached = new Promise<void>((resolve) => connected.push(resolve));
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info", NATS_URL: `nats://127.0.0.1:${port}`, PORT: "0", MESH_INSECURE: "true", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  await reached;
  child.kill("SIGTERM");
  return { ...(await exited), output };
}

describe("SIGTERM during start-up", () => {
  it("a service process exits 0 and logs that it stopped during start-up", { timeout: 60_000 }, async () => {
    const outcome = await stopWhileStarting("services/catalog/main.ts", { CATALOG_PAGE_TOKEN_SECRET: "x".repeat(43) });
    expect(outcome, outcome.output).toMatchObject({ code: 0, signal: null });
    expect(outcome.output).toMatch(/"message":"stopped during start-up".*"signal":"SIGTERM"/);
  });
});
