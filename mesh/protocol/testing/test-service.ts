// An implementation of weft.testing.v1.TestService (the gRPC interop service's shape) for the interop
// matrix and the benchmarks. Echoes the interop metadata headers, sizes payloads, sleeps while honouring
// cancellation, and fails with the requested status (with the EchoStatus as an error detail).

import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { EchoStatusSchema, TestService } from "../../../gen/weft/testing/v1/test_pb.ts";
import type { EchoStatus, ResponseParameters } from "../../../gen/weft/testing/v1/test_pb.ts";
import type { ServiceRegistration } from "../../engine/index.ts";

/** Request header echoed into the response headers (gRPC interop "custom_metadata"). */
export const ECHO_INITIAL = "x-grpc-test-echo-initial";
/** Request header echoed into the response trailers. */
export const ECHO_TRAILING_BIN = "x-grpc-test-echo-trailing-bin";

/** Options of the TestService implementation. */
export interface TestServiceOptions {
  /** Reported in `served_by`. Default "weft". */
  readonly servedBy?: string;
  /** Called when a handler sees its call canceled or timed out (tests assert on it). */
  readonly onAbort?: (method: string, reason: unknown) => void;
}

function echoMetadata(ctx: HandlerContext): void {
  const initial = ctx.requestHeader.get(ECHO_INITIAL);
  if (initial !== null) ctx.responseHeader.set(ECHO_INITIAL, initial);
  const trailing = ctx.requestHeader.get(ECHO_TRAILING_BIN);
  if (trailing !== null) ctx.responseTrailer.set(ECHO_TRAILING_BIN, trailing);
}

function statusError(status: EchoStatus | undefined): ConnectError | undefined {
  if (status === undefined || status.code === 0) return undefined;
  return new ConnectError(status.message, status.code as Code, undefined, [{ desc: EchoStatusSchema, value: status }]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(ConnectError.from(signal.reason, Code.Canceled));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(ConnectError.from(signal.reason, Code.Canceled));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const ZEROS = new Uint8Array(4 * 1024 * 1024);
const payload = (size: number) => ({ body: ZEROS.subarray(0, Math.max(0, size)) });

/** Builds the TestService handlers. */
export function createTestServiceImpl(options: TestServiceOptions = {}): Partial<ServiceImpl<typeof TestService>> {
  const servedBy = options.servedBy ?? "weft";
  const watch = (method: string, ctx: HandlerContext) => {
    if (options.onAbort === undefined) return;
    ctx.signal.addEventListener("abort", () => {
      const r = ctx.signal.reason;
      // connect aborts the signal on normal completion too (with no reason or an AbortError).
      if (r instanceof ConnectError) options.onAbort!(method, r);
    }, { once: true });
  };
  async function* respond(params: ResponseParameters[], ctx: HandlerContext) {
    for (const p of params) {
      if (p.intervalUs > 0) await sleep(p.intervalUs / 1000, ctx.signal);
      yield { payload: payload(p.size) };
    }
  }
  const impl: Partial<ServiceImpl<typeof TestService>> = {
    emptyCall() {
      return {};
    },
    async unaryCall(req, ctx) {
      echoMetadata(ctx);
      if (req.sleepMs > 0) {
        watch("UnaryCall", ctx);
        await sleep(req.sleepMs, ctx.signal);
      }
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
      return { payload: payload(req.responseSize), servedBy };
    },
    async cacheableUnaryCall(req, ctx) {
      echoMetadata(ctx);
      if (req.sleepMs > 0) await sleep(req.sleepMs, ctx.signal);
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
      return { payload: payload(req.responseSize), servedBy };
    },
    async *streamingOutputCall(req, ctx) {
      echoMetadata(ctx);
      watch("StreamingOutputCall", ctx);
      yield* respond(req.responseParameters, ctx);
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
    },
    async streamingInputCall(reqs, ctx) {
      echoMetadata(ctx);
      let total = 0;
      for await (const r of reqs) total += r.payload?.body.length ?? 0;
      return { aggregatedPayloadSize: total };
    },
    async *fullDuplexCall(reqs, ctx) {
      echoMetadata(ctx);
      watch("FullDuplexCall", ctx);
      for await (const r of reqs) {
        yield* respond(r.responseParameters, ctx);
        const err = statusError(r.responseStatus);
        if (err !== undefined) throw err;
      }
    },
  };
  return impl;
}

/** TestService registered the way the host and the engine take it (UnimplementedCall left out). */
export function testServiceRegistration(options: TestServiceOptions = {}): ServiceRegistration {
  const impl = createTestServiceImpl(options) as Record<string, unknown>;
  delete impl.unimplementedCall;
  return { service: TestService, impl: impl as ServiceRegistration["impl"] };
}
