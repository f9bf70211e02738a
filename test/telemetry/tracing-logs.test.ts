// A failed call's log line carries the trace id (and span id) of its span in Jaeger, and LOG_LEVEL
// filters lines. The process is a real mesh/node process exporting to a real Jaeger.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stop, until } from "../distributed/fixtures/processes.ts";
import { newTraceparent, renderTree, startJaeger, type Jaeger } from "./jaeger.ts";

const FIXTURE = new URL("./fixtures/failing-node.ts", import.meta.url).pathname;
let jaeger: Jaeger | undefined;

beforeAll(async () => {
  jaeger = await startJaeger();
}, 40_000);
afterAll(async () => {
  await jaeger?.stop();
});

function startFixture(env: Record<string, string>) {
  const run = randomUUID().slice(0, 8);
  const proc = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, MESH_REGISTRY_PREFIX: `weft.t${run}.registry`, MESH_RPC_PREFIX: `weft.t${run}.rpc`, OTEL_EXPORTER_OTLP_ENDPOINT: jaeger!.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "100", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let port = 0;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.startsWith("READY ")) port = Number(line.split(" ")[1]);
      else if (line.trim() !== "") lines.push(line);
    }
  };
  proc.stdout!.on("data", collect);
  proc.stderr!.on("data", collect);
  return { proc, lines, port: () => port };
}

describe("logs carry the trace (real Jaeger)", () => {
  it("the log line of a failed call has the trace id and span id of its server span; secrets are redacted", async () => {
    const f = startFixture({});
    try {
      await until(() => f.port() > 0, 45_000, "fixture listening");
      const t = newTraceparent();
      const res = await fetch(`http://127.0.0.1:${f.port()}/weft.testing.v1.TestService/UnaryCall`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: t.traceparent, authorization: "Bearer not-for-logs" },
        body: "{}",
      });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { code: string }).code).toBe("internal");
      await until(() => f.lines.some((l) => l.includes("handler failed")), 5000, "the failure logged");
      const line = JSON.parse(f.lines.find((l) => l.includes("handler failed"))!) as Record<string, string>;
      expect(line.level).toBe("error");
      expect(line.trace_id).toBe(t.traceId);
      const spans = await jaeger!.waitForTrace(t.traceId, (s) => s.some((x) => x.kind === "SERVER"));
      const server = spans.find((s) => s.kind === "SERVER")!;
      expect(line.span_id, renderTree(spans)).toBe(server.spanId);
      expect(server.statusCode).toBe(2);
      expect(server.attributes["rpc.connect_rpc.error_code"]).toBe("internal");
      expect(f.lines.join("\n")).not.toContain("not-for-logs");
    } finally {
      await stop(f.proc, "SIGKILL");
    }
  }, 90_000);

  it("LOG_LEVEL=error drops info lines; a bad LOG_LEVEL stops start-up with WEFT_ERR_TELEMETRY_CONFIG", async () => {
    const quiet = startFixture({ LOG_LEVEL: "error" });
    try {
      await until(() => quiet.port() > 0, 45_000, "fixture listening");
      await fetch(`http://127.0.0.1:${quiet.port()}/weft.testing.v1.TestService/UnaryCall`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      await until(() => quiet.lines.some((l) => l.includes("handler failed")), 5000, "the failure logged");
      expect(quiet.lines.filter((l) => l.includes('"level":"info"'))).toEqual([]);
    } finally {
      await stop(quiet.proc, "SIGKILL");
    }
    const bad = startFixture({ LOG_LEVEL: "chatty" });
    const code = await new Promise<number | null>((r) => bad.proc.on("exit", (c) => r(c)));
    expect(code).not.toBe(0);
    expect(bad.lines.join("\n")).toContain("WEFT_ERR_TELEMETRY_CONFIG");
  }, 90_000);
});
