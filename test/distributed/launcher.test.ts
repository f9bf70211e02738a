// The launcher (scripts/start-distributed.ts) on its own: settings it refuses at start-up, and the
// second-signal path (a later Ctrl-C to the process group stops everything at once). The first-signal
// drain under load is in shop-distributed.test.ts.

import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { SIGNAL_REPEAT_WINDOW_MS } from "../../mesh/host/index.ts";
import { until } from "./fixtures/processes.ts";

const LAUNCHER = new URL("../../scripts/start-distributed.ts", import.meta.url).pathname;
const started: ChildProcess[] = [];

afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) process.kill(-p.pid!, "SIGKILL");
});

/** Runs the launcher in its own process group; collects stdout and stderr lines. */
function launch(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, [LAUNCHER, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  started.push(proc);
  const lines: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
    });
  }
  const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
  return { proc, lines, exited };
}

const NONE = "catalog=0,inventory=0,identity=0,orders=0,recommendations=0,gateway=0";

describe("launcher settings", () => {
  it.each([
    [{ INSTANCES: "catalog=x" }, "INSTANCES"],
    [{ INSTANCES: "search=1" }, "INSTANCES"],
    [{ GATEWAY_PORT: "http" }, "GATEWAY_PORT"],
    [{ GATEWAY_PORT: "70000" }, "GATEWAY_PORT"],
    [{ MESH_TRANSPORT: "udp" }, "MESH_TRANSPORT"],
  ])("refuses %j with WEFT_ERR_MESH_CONFIG naming %s, exit 1", async (env, variable) => {
    const run = launch([], env);
    expect(await run.exited).toBe(1);
    expect(run.lines.filter((l) => l.startsWith("WEFT_ERR_MESH_CONFIG: "))).toHaveLength(1);
    expect(run.lines.find((l) => l.startsWith("WEFT_ERR_MESH_CONFIG: "))).toMatch(new RegExp(`^WEFT_ERR_MESH_CONFIG: ${variable}\\b`));
  });

  it("names the flag rather than the variable when the flag was given", async () => {
    const run = launch(["--instances", "catalog=x"], { INSTANCES: NONE });
    expect(await run.exited).toBe(1);
    expect(run.lines).toContainEqual(expect.stringMatching(/^WEFT_ERR_MESH_CONFIG: --instances\b/));
  });
});

describe("launcher signals", () => {
  it("a second Ctrl-C to the group, after the repeat window, stops a drain at once with exit 130", async () => {
    const run = randomUUID().replaceAll("-", "").slice(0, 8);
    // One catalog whose drain waits 10 s between its leave and its refusals: only the second signal ends it sooner.
    const launcher = launch(["--instances", "catalog=1,inventory=0,identity=0,orders=0,recommendations=0,gateway=0"], {
      MESH_REGISTRY_PREFIX: `weft.t${run}.registry`, MESH_RPC_PREFIX: `weft.t${run}.rpc`, MESH_LEAVE_GRACE_MS: "10000", COMPUTE: "inline",
    });
    await until(() => launcher.lines.some((l) => l.includes('"message":"catalog listening"')), 60_000, "catalog up");
    process.kill(-launcher.proc.pid!, "SIGINT");
    await until(() => launcher.lines.some((l) => l.includes('"message":"drain started"')), 30_000, "drain started");
    // The same Ctrl-C delivered again (as npm forwards it) is not a second request.
    process.kill(-launcher.proc.pid!, "SIGINT");
    await new Promise((r) => setTimeout(r, SIGNAL_REPEAT_WINDOW_MS + 200));
    expect(launcher.proc.exitCode).toBeNull();
    process.kill(-launcher.proc.pid!, "SIGINT");
    expect(await launcher.exited).toBe(130);
    expect(launcher.lines.some((l) => l.includes('"message":"drained"'))).toBe(false);
    expect(launcher.lines).toContainEqual(expect.stringMatching(/^SIGINT again: stopping 1 processes without waiting/));
  });
});
