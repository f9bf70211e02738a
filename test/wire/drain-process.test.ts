// Graceful drain of a real process: SIGTERM during 200 in-flight slow calls loses none of them, new
// calls are refused with UNAVAILABLE while it drains, and the process exits 0.

import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { engines } from "./engines.ts";
import { connectGetQuery, grpcJsTestClient, grpcJsUnary, repoRoot } from "./harness.ts";

const IN_FLIGHT = 200;
const SLOW_CALL_MS = 1_500;
const UNARY = "/weft.testing.v1.TestService/UnaryCall";

/** Starts the fixture process and resolves its URL once it listens. */
function startServer(engineName: string): Promise<{ child: ChildProcess; url: string; port: number; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [path.join(repoRoot, "test/wire/serve-test-service.ts")], {
    env: { ...process.env, ENGINE: engineName, DRAIN_GRACE_MS: "20000" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 15_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const match = /LISTENING (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        const url = match[1];
        resolve({ child, url, port: Number(new URL(url).port), exit });
      }
    });
    void exit.then((code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
}

async function adminStatus(url: string): Promise<{ inFlight?: number; draining?: boolean }> {
  const res = await fetch(`${url}/weft.mesh.v1.AdminService/GetStatus${connectGetQuery({})}`);
  return (await res.json()) as { inFlight?: number; draining?: boolean };
}

for (const engine of engines) {
  describe(`graceful drain of a real process [${engine.name}]`, () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child !== undefined && child.exitCode === null) child.kill("SIGKILL");
    });

    it(`SIGTERM during ${IN_FLIGHT} in-flight calls: all succeed, new calls get UNAVAILABLE, exit code 0`, async () => {
      const server = await startServer(engine.name);
      child = server.child;
      const grpcClient = grpcJsTestClient(server.port);
      try {
        // Half over gRPC (HTTP/2, one connection), half over Connect JSON (HTTP/1.1, a connection each).
        const calls: Promise<boolean>[] = [];
        for (let i = 0; i < IN_FLIGHT; i++) {
          if (i % 2 === 0) {
            calls.push(grpcJsUnary(grpcClient, "UnaryCall", { sleep_ms: SLOW_CALL_MS, response_size: 3 }).then((o) => o.code === grpc.status.OK));
          } else {
            calls.push(
              fetch(`${server.url}${UNARY}`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ sleepMs: SLOW_CALL_MS, responseSize: 3 }),
              }).then(async (res) => res.status === 200 && ((await res.json()) as { payload?: { body?: string } }).payload?.body === "AAAA"),
            );
          }
        }
        await expect.poll(async () => (await adminStatus(server.url)).inFlight, { timeout: 10_000, interval: 50 }).toBe(IN_FLIGHT);

        server.child.kill("SIGTERM");
        await expect.poll(async () => (await adminStatus(server.url)).draining, { timeout: 5_000, interval: 20 }).toBe(true);

        // Draining: new calls are refused with UNAVAILABLE over both protocols.
        const refusedConnect = await fetch(`${server.url}${UNARY}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(refusedConnect.status).toBe(503);
        expect(((await refusedConnect.json()) as { code: string }).code).toBe("unavailable");
        const refusedGrpc = await grpcJsUnary(grpcClient, "EmptyCall", {});
        expect(refusedGrpc.code).toBe(grpc.status.UNAVAILABLE);

        const results = await Promise.all(calls);
        expect(results.filter((ok) => !ok)).toHaveLength(0);
        expect(results).toHaveLength(IN_FLIGHT);
        expect(await server.exit).toBe(0);

        // Closed: the port refuses connections.
        const after = await fetch(`${server.url}${UNARY}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).then(
          () => "answered",
          (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
        );
        expect(after).toBe("ECONNREFUSED");
      } finally {
        grpcClient.close();
      }
    }, 60_000);
  });
}
