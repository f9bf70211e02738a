// The standard gRPC interop service (grpc.testing.TestService, vendored from grpc/grpc) with the
// behaviours the gRPC interop test descriptions ask of a server: payloads of the asked sizes, echoed
// initial and trailing metadata, the asked status, response intervals, half and full duplex.

import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { EchoStatus, ResponseParameters, StreamingOutputCallRequest } from "../../gen/grpc/testing/messages_pb.ts";
import { TestService } from "../../gen/grpc/testing/test_pb.ts";

export { TestService };

/** Request metadata the server echoes as response headers. */
export const ECHO_INITIAL = "x-grpc-test-echo-initial";
/** Request metadata the server echoes as response trailers. */
export const ECHO_TRAILING_BIN = "x-grpc-test-echo-trailing-bin";

function echoMetadata(ctx: HandlerContext): void {
  const initial = ctx.requestHeader.get(ECHO_INITIAL);
  if (initial !== null) ctx.responseHeader.set(ECHO_INITIAL, initial);
  const trailing = ctx.requestHeader.get(ECHO_TRAILING_BIN);
  if (trailing !== null) ctx.responseTrailer.set(ECHO_TRAILING_BIN, trailing);
}

function statusError(status: EchoStatus | undefined): ConnectError | undefined {
  if (status === undefined || status.code === 0) return undefined;
  return new ConnectError(status.message, status.code as Code);
}

function sleepUs(us: number, signal: AbortSignal): Promise<void> {
  if (us <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, us / 1000);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const payload = (size: number) => ({ body: new Uint8Array(size) });

async function* respond(params: readonly ResponseParameters[], ctx: HandlerContext) {
  for (const p of params) {
    await sleepUs(p.intervalUs, ctx.signal);
    yield { payload: payload(p.size) };
  }
}

/** The TestService handlers (UnimplementedMethod left out on purpose: it must answer UNIMPLEMENTED). */
export function createGrpcTestingService(): Partial<ServiceImpl<typeof TestService>> {
  return {
    emptyCall(_req, ctx) {
      echoMetadata(ctx);
      return {};
    },
    unaryCall(req, ctx) {
      echoMetadata(ctx);
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
      return { payload: payload(req.responseSize) };
    },
    async *streamingOutputCall(req, ctx) {
      echoMetadata(ctx);
      yield* respond(req.responseParameters, ctx);
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
    },
    async streamingInputCall(reqs, ctx) {
      echoMetadata(ctx);
      let size = 0;
      for await (const r of reqs) size += r.payload?.body.length ?? 0;
      return { aggregatedPayloadSize: size };
    },
    async *fullDuplexCall(reqs, ctx) {
      echoMetadata(ctx);
      for await (const r of reqs) {
        const err = statusError(r.responseStatus);
        if (err !== undefined) throw err;
        yield* respond(r.responseParameters, ctx);
      }
    },
    async *halfDuplexCall(reqs, ctx) {
      echoMetadata(ctx);
      const all: StreamingOutputCallRequest[] = [];
      for await (const r of reqs) all.push(r);
      for (const r of all) {
        const err = statusError(r.responseStatus);
        if (err !== undefined) throw err;
        yield* respond(r.responseParameters, ctx);
      }
    },
  };
}
