// The one implementation of weft.testing.v1.TestService (the gRPC interop service's shape), shared by the
// wire and interop tests and the benchmarks. Echoes the interop metadata headers, sizes payloads, sleeps
// while honouring cancellation, and fails with the requested status (with the EchoStatus as a detail).

import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { EchoStatusSchema, TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import type { EchoStatus, Payload, ResponseParameters } from "../../gen/weft/testing/v1/test_pb.ts";
import type { ServiceRegistration } from "../../mesh/engine/index.ts";

export { TestService };

/** Request header echoed into the response headers (gRPC interop "custom_metadata"). */
export const ECHO_INITIAL = "x-grpc-test-echo-initial";
/** Request header echoed into the response trailers. */
export const ECHO_TRAILING_BIN = "x-grpc-test-echo-trailing-bin";
/**
 * A request payload with this body makes a unary handler throw a plain Error (not a ConnectError) whose
 * message holds SECRET_DETAIL: the server must answer INTERNAL without leaking it.
 */
export const THROW_PLAIN_ERROR = new TextEncoder().encode("weft:throw-plain-error");
/** Text in the plain error that must never reach a caller. */
export const SECRET_DETAIL = "secret-internal-detail at /srv/db.ts:42";

/** Options of the TestService implementation. */
export interface TestServiceOptions {
  /** Reported in `served_by`; "" leaves the field out (the benchmarks' responses). Default "weft". */
  readonly servedBy?: string;
  /**
   * Echo the interop metadata headers. false: never read the request's headers (the benchmarks: a lazy
   * engine builds them on first read). Default true.
   */
  readonly echoMetadata?: boolean;
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

/** Largest payload the service agrees to build, in bytes. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const ZEROS = new Uint8Array(MAX_RESPONSE_BYTES);

function payload(size: number): { body: Uint8Array } {
  if (size > MAX_RESPONSE_BYTES) throw new ConnectError("response_size out of range", Code.InvalidArgument);
  return { body: ZEROS.subarray(0, Math.max(0, size)) };
}

function throwIfAskedToFailPlainly(p: Payload | undefined): void {
  const body = p?.body;
  if (body === undefined || body.length !== THROW_PLAIN_ERROR.length) return;
  if (body.every((v, i) => v === THROW_PLAIN_ERROR[i])) throw new Error(`database exploded: ${SECRET_DETAIL}`);
}

/** Builds the TestService handlers. */
export function createTestServiceImpl(options: TestServiceOptions = {}): Partial<ServiceImpl<typeof TestService>> {
  const servedBy = options.servedBy ?? "weft";
  const echo = options.echoMetadata === false ? () => {} : echoMetadata;
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
  const answer = (req: { responseSize: number; responseStatus?: EchoStatus }) => {
    const err = statusError(req.responseStatus);
    if (err !== undefined) throw err;
    return { payload: payload(req.responseSize), servedBy };
  };
  const impl: Partial<ServiceImpl<typeof TestService>> = {
    emptyCall(_req, ctx) {
      echo(ctx);
      return {};
    },
    // Not async: a call without sleep answers without a promise, like a minimal handler.
    unaryCall(req, ctx) {
      echo(ctx);
      throwIfAskedToFailPlainly(req.payload);
      if (req.sleepMs <= 0) return answer(req);
      watch("UnaryCall", ctx);
      return sleep(req.sleepMs, ctx.signal).then(() => answer(req));
    },
    async cacheableUnaryCall(req, ctx) {
      echo(ctx);
      throwIfAskedToFailPlainly(req.payload);
      if (req.sleepMs > 0) await sleep(req.sleepMs, ctx.signal);
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
      return { payload: payload(req.responseSize), servedBy };
    },
    async *streamingOutputCall(req, ctx) {
      echo(ctx);
      watch("StreamingOutputCall", ctx);
      yield* respond(req.responseParameters, ctx);
      const err = statusError(req.responseStatus);
      if (err !== undefined) throw err;
    },
    async streamingInputCall(reqs, ctx) {
      echo(ctx);
      let total = 0;
      for await (const r of reqs) total += r.payload?.body.length ?? 0;
      return { aggregatedPayloadSize: total };
    },
    async *fullDuplexCall(reqs, ctx) {
      echo(ctx);
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
