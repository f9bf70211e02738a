import { describe, expect, it } from "vitest";
import { createWeftConnectTransport, createWeftGrpcTransport } from "./index.ts";
import { resolveTransportOptions } from "./options.ts";

describe("transport options", () => {
  it("fills documented defaults", () => {
    const o = resolveTransportOptions({ baseUrl: "http://127.0.0.1:8080/prefix/" });
    expect(o).toMatchObject({
      pathPrefix: "/prefix", binaryFormat: true, readMaxBytes: 4 * 1024 * 1024, writeMaxBytes: 4 * 1024 * 1024,
      sendGzip: false, acceptGzip: true, compressMinBytes: 1024, maxConcurrentCalls: 256, maxQueuedCalls: 10_000, idleTimeoutMs: 60_000,
    });
  });

  it.each([
    [{ baseUrl: 42 }, "options.baseUrl must be a string"],
    [{ baseUrl: "not a url" }, "options.baseUrl is not a valid URL"],
    [{ baseUrl: "ftp://x" }, "options.baseUrl must start with http:// or https://"],
    [{ baseUrl: "http://x", maxConcurrentCalls: 0 }, "options.maxConcurrentCalls must be an integer >= 1"],
    [{ baseUrl: "http://x", readMaxBytes: 1.5 }, "options.readMaxBytes must be an integer >= 1"],
    [{ baseUrl: "http://x", sendGzip: "yes" }, "options.sendGzip must be a boolean"],
    [{ baseUrl: "http://x", defaultTimeoutMs: -1 }, "options.defaultTimeoutMs must be a positive number"],
  ])("rejects %j naming the field", (options, message) => {
    expect(() => createWeftGrpcTransport(options as never)).toThrow(message);
    expect(() => createWeftConnectTransport(options as never)).toThrow(message);
  });
});
