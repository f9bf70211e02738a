import { describe, expect, it } from "vitest";
import { HostError, HostErrorCode } from "./errors.ts";
import { hostDefaults, resolveHostOptions, type HostOptions } from "./options.ts";

function errorOf(options: unknown): HostError {
  try {
    resolveHostOptions(options as HostOptions);
  } catch (err) {
    return err as HostError;
  }
  throw new Error("expected resolveHostOptions to throw");
}

describe("resolveHostOptions", () => {
  it("fills in the documented defaults", () => {
    const resolved = resolveHostOptions({});
    expect(resolved).toMatchObject({
      hostname: "127.0.0.1",
      port: 8080,
      corsAllowedOrigins: [],
      readMaxBytes: 4 * 1024 * 1024,
      maxConcurrentStreams: 100,
      drainGraceMs: hostDefaults.drainGraceMs,
      interceptors: [],
      tuneGc: true,
    });
    expect(resolved.instanceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(resolveHostOptions({}).instanceId).not.toBe(resolved.instanceId);
  });

  it("keeps valid values", () => {
    const resolved = resolveHostOptions({ port: 0, corsAllowedOrigins: ["*", "http://localhost:5173"], maxTimeoutMs: 0, instanceId: "a" });
    expect(resolved.port).toBe(0);
    expect(resolved.corsAllowedOrigins).toEqual(["*", "http://localhost:5173"]);
    expect(resolved.maxTimeoutMs).toBe(0);
    expect(resolved.instanceId).toBe("a");
  });

  const bad: [string, unknown][] = [
    ["port", { port: 70_000 }],
    ["port", { port: "8080" }],
    ["port", { port: 1.5 }],
    ["readMaxBytes", { readMaxBytes: 0 }],
    ["readMaxBytes", { readMaxBytes: 2 ** 33 }],
    ["maxHeaderListBytes", { maxHeaderListBytes: 10 }],
    ["maxConcurrentStreams", { maxConcurrentStreams: 0 }],
    ["idleTimeoutMs", { idleTimeoutMs: -1 }],
    ["drainGraceMs", { drainGraceMs: Number.NaN }],
    ["hostname", { hostname: "" }],
    ["corsAllowedOrigins", { corsAllowedOrigins: "https://a.example" }],
    ["corsAllowedOrigins", { corsAllowedOrigins: ["https://a.example/"] }],
    ["corsAllowedOrigins", { corsAllowedOrigins: ["not a url"] }],
    ["interceptors", { interceptors: [42] }],
    ["engine", { engine: {} }],
    ["logger", { logger: { error() {} } }],
    ["instanceId", { instanceId: "" }],
    ["tuneGc", { tuneGc: "yes" }],
  ];
  it.each(bad)("rejects a bad %s with WEFT_ERR_HOST_OPTIONS naming the field", (field, options) => {
    const err = errorOf(options);
    expect(err).toBeInstanceOf(HostError);
    expect(err.code).toBe(HostErrorCode.options);
    expect(err.code).toBe("WEFT_ERR_HOST_OPTIONS");
    expect(err.message).toContain(`options.${field}`);
  });
});
