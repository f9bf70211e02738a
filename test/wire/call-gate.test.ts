// The host's call gate (admission, in-flight accounting, error sanitising) as every engine applies it,
// including handlers that never look at their context (the Weft engine then creates no AbortController,
// so accounting cannot lean on the signal).

import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createHost } from "../../mesh/host/index.ts";
import { engines } from "./engines.ts";
import { capturingLogger, grpcFrame, rawH2Request, TestService } from "./harness.ts";

const UNARY = "/weft.testing.v1.TestService/UnaryCall";
const EMPTY = "/weft.testing.v1.TestService/EmptyCall";

for (const engine of engines) {
  describe(`call gate [${engine.name}]`, () => {
    it("forgets a vanished client's call at once even when its handler ignores the signal", async () => {
      const logger = capturingLogger();
      let finished = 0;
      const host = createHost({ port: 0, engine, logger, drainGraceMs: 5_000 });
      host.register(TestService, {
        // Never reads context: nothing but the engine can tell the gate the client went away.
        unaryCall: () => new Promise((resolve) => setTimeout(() => { finished++; resolve({}); }, 2_000)),
        emptyCall: () => ({}),
      });
      const { url } = await host.listen();
      try {
        const session = http2.connect(url);
        session.on("error", () => {});
        const stream = session.request({ ":method": "POST", ":path": UNARY, "content-type": "application/grpc", te: "trailers" });
        stream.on("error", () => {});
        stream.end(grpcFrame(new Uint8Array(0)));
        await expect.poll(() => host.inFlight).toBe(1);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        await expect.poll(() => host.inFlight, { timeout: 1_500 }).toBe(0);
        expect(finished).toBe(0);
        session.destroy();
        // Completed calls leave too, and the host still answers.
        for (let i = 0; i < 20; i++) {
          const ok = await rawH2Request(url, { ":path": EMPTY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)));
          expect(ok.trailers?.["grpc-status"]).toBe("0");
        }
        expect(host.inFlight).toBe(0);
      } finally {
        await host.close();
      }
    });

    it("sanitises a plain error from a user interceptor and counts nothing after it", async () => {
      const logger = capturingLogger();
      const host = createHost({
        port: 0,
        engine,
        logger,
        interceptors: [
          (next) => async (req) => {
            if (req.method.name === "EmptyCall") throw new Error("interceptor secret /srv/x.ts");
            if (req.method.name === "UnaryCall") throw new ConnectError("nope", Code.PermissionDenied);
            return next(req);
          },
        ],
      });
      host.register(TestService, { emptyCall: () => ({}), unaryCall: () => ({}) });
      const { url } = await host.listen();
      try {
        const plain = await rawH2Request(url, { ":path": EMPTY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)));
        const status = plain.headers["grpc-status"] ?? plain.trailers?.["grpc-status"];
        const message = String(plain.headers["grpc-message"] ?? plain.trailers?.["grpc-message"]);
        expect(status).toBe(String(Code.Internal));
        expect(message).toBe("internal error");
        expect(logger.errors.find((e) => e.message === "handler failed")?.fields).toMatchObject({ procedure: EMPTY, error: "interceptor secret /srv/x.ts" });
        const denied = await rawH2Request(url, { ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)));
        expect(denied.headers["grpc-status"] ?? denied.trailers?.["grpc-status"]).toBe(String(Code.PermissionDenied));
        expect(host.inFlight).toBe(0);
      } finally {
        await host.close();
      }
    });
  });
}
