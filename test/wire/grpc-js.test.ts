// A real @grpc/grpc-js client over HTTP/2 against the host: the wire behaviour gRPC users see.
// The client is built from the generated descriptors, which keep proto field names (snake_case).

import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "./engines.ts";
import { grpcJsTestClient, grpcJsUnary, startTestHost, type StartedHost } from "./harness.ts";
import { ECHO_INITIAL, ECHO_TRAILING_BIN, SECRET_DETAIL, THROW_PLAIN_ERROR } from "../support/test-service.ts";

for (const engine of engines) {
  describe(`grpc-js client over HTTP/2 [${engine.name}]`, () => {
    let started: StartedHost;
    let client: ReturnType<typeof grpcJsTestClient>;

    beforeAll(async () => {
      started = await startTestHost(engine, { maxTimeoutMs: 60_000 });
      client = grpcJsTestClient(started.port);
    });
    afterAll(async () => {
      client?.close();
      await started?.host.close();
    });

    it("answers a unary call", async () => {
      const out = await grpcJsUnary(client, "UnaryCall", { response_size: 10, payload: { body: Buffer.from("hi") } });
      expect(out.code).toBe(grpc.status.OK);
      expect((out.response?.payload as { body: Buffer }).body.length).toBe(10);
      expect(out.response?.served_by).toBe("wire-test");
    });

    it("answers an empty call", async () => {
      const out = await grpcJsUnary(client, "EmptyCall", {});
      expect(out.code).toBe(grpc.status.OK);
      expect(out.response).toEqual({});
    });

    const errorCases: [grpc.status, string][] = [
      [grpc.status.INVALID_ARGUMENT, "quantity must be positive"],
      [grpc.status.NOT_FOUND, "product p-42 not found"],
      [grpc.status.FAILED_PRECONDITION, "out of stock: épuisé — 0 left ✓"],
      [grpc.status.UNAUTHENTICATED, "token expired"],
      [grpc.status.PERMISSION_DENIED, "orders may not call identity.Admin"],
      [grpc.status.RESOURCE_EXHAUSTED, "queue full"],
      [grpc.status.ABORTED, "conflict, retry"],
      [grpc.status.UNAVAILABLE, "backend down"],
      [grpc.status.ALREADY_EXISTS, "user exists"],
    ];
    it.each(errorCases)("carries status %i with its message (including non-ASCII text)", async (code, message) => {
      const out = await grpcJsUnary(client, "UnaryCall", { response_status: { code, message } });
      expect(out.code).toBe(code);
      expect(out.details).toBe(message);
      expect(out.response).toBeUndefined();
    });

    it("answers an unexpected handler error with INTERNAL and no internal text, and logs it server-side", async () => {
      const out = await grpcJsUnary(client, "UnaryCall", { payload: { body: Buffer.from(THROW_PLAIN_ERROR) } });
      expect(out.code).toBe(grpc.status.INTERNAL);
      expect(out.details).toBe("internal error");
      const everything = JSON.stringify({ details: out.details, trailers: out.trailers?.getMap(), headers: out.headers?.getMap() });
      expect(everything).not.toContain("secret");
      expect(everything).not.toContain(".ts:");
      expect(JSON.stringify(started.logger.errors)).toContain(SECRET_DETAIL);
    });

    it("ends a call past its deadline with DEADLINE_EXCEEDED, without waiting for the handler", async () => {
      const t0 = performance.now();
      const out = await grpcJsUnary(client, "UnaryCall", { sleep_ms: 5_000 }, { deadlineMs: 200 });
      expect(out.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(performance.now() - t0).toBeLessThan(3_000);
      // The server side stopped too: the handler's sleep was cancelled, so nothing stays in flight.
      await expect.poll(() => started.host.inFlight, { timeout: 2_000 }).toBe(0);
    });

    it("refuses a deadline beyond maxTimeoutMs with INVALID_ARGUMENT", async () => {
      const out = await grpcJsUnary(client, "EmptyCall", {}, { deadlineMs: 600_000 });
      expect(out.code).toBe(grpc.status.INVALID_ARGUMENT);
    });

    it("round-trips metadata: ASCII in headers, -bin in trailers", async () => {
      const metadata = new grpc.Metadata();
      metadata.set(ECHO_INITIAL, "hello-ascii-value");
      const binary = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 10, 13]);
      metadata.set(ECHO_TRAILING_BIN, binary);
      const out = await grpcJsUnary(client, "UnaryCall", { response_size: 1 }, { metadata });
      expect(out.code).toBe(grpc.status.OK);
      expect(out.headers?.get(ECHO_INITIAL)).toEqual(["hello-ascii-value"]);
      const trailer = out.trailers?.get(ECHO_TRAILING_BIN);
      expect(trailer).toHaveLength(1);
      expect(Buffer.compare(trailer![0] as Buffer, binary)).toBe(0);
    });

    it("round-trips metadata on an error too", async () => {
      const metadata = new grpc.Metadata();
      metadata.set(ECHO_TRAILING_BIN, Buffer.from("err-trailer"));
      const out = await grpcJsUnary(client, "UnaryCall", { response_status: { code: 5, message: "nope" } }, { metadata });
      expect(out.code).toBe(grpc.status.NOT_FOUND);
      expect((out.trailers?.get(ECHO_TRAILING_BIN)[0] as Buffer).toString()).toBe("err-trailer");
    });

    it("answers an unimplemented method with UNIMPLEMENTED", async () => {
      const out = await grpcJsUnary(client, "UnimplementedCall", {});
      expect(out.code).toBe(grpc.status.UNIMPLEMENTED);
    });

    it("answers an unknown service with UNIMPLEMENTED", async () => {
      const code = await new Promise<grpc.status>((resolve) => {
        client.makeUnaryRequest(
          "/weft.testing.v1.NoSuchService/Call",
          (value: Buffer) => value,
          (value: Buffer) => value,
          Buffer.alloc(0),
          (err) => resolve(err?.code ?? grpc.status.OK),
        );
      });
      expect(code).toBe(grpc.status.UNIMPLEMENTED);
    });

    it("streams server responses in order, then the status", async () => {
      const call = client.StreamingOutputCall({
        response_parameters: [{ size: 1 }, { size: 2, interval_us: 20_000 }, { size: 3 }],
        response_status: { code: grpc.status.DATA_LOSS, message: "stream ended badly" },
      }) as grpc.ClientReadableStream<{ payload: { body: Buffer } }>;
      const sizes: number[] = [];
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        call.on("data", (m) => sizes.push(m.payload.body.length));
        call.on("error", () => {});
        call.on("status", resolve);
      });
      expect(sizes).toEqual([1, 2, 3]);
      expect(status.code).toBe(grpc.status.DATA_LOSS);
      expect(status.details).toBe("stream ended badly");
    });

    it("sums a client stream", async () => {
      const result = await new Promise<{ aggregated_payload_size: number }>((resolve, reject) => {
        const call = client.StreamingInputCall((err: grpc.ServiceError | null, res: { aggregated_payload_size: number }) =>
          err ? reject(err) : resolve(res),
        ) as grpc.ClientWritableStream<unknown>;
        for (const size of [3, 5, 7]) call.write({ payload: { body: Buffer.alloc(size) } });
        call.end();
      });
      expect(result.aggregated_payload_size).toBe(15);
    });

    it("ping-pongs a bidi stream", async () => {
      const call = client.FullDuplexCall() as grpc.ClientDuplexStream<unknown, { payload: { body: Buffer } }>;
      const sizes: number[] = [];
      for (const size of [4, 8]) {
        call.write({ response_parameters: [{ size }] });
        const message = await new Promise<{ payload: { body: Buffer } }>((resolve) => call.once("data", resolve));
        sizes.push(message.payload.body.length);
      }
      call.end();
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      expect(sizes).toEqual([4, 8]);
      expect(status.code).toBe(grpc.status.OK);
    });
  });
}
