// A TestService implementation (gRPC interop style) for wire tests and benchmarks. Reusable by any
// helper: it depends only on the generated contract and connect.

import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { TestService, type EchoStatus } from "../../gen/weft/testing/v1/test_pb.ts";

/** Request header echoed into the response headers (as in the gRPC interop "custom_metadata" case). */
export const ECHO_INITIAL_HEADER = "x-grpc-test-echo-initial";
/** Binary request header echoed into the response trailers. */
export const ECHO_TRAILING_BIN_HEADER = "x-grpc-test-echo-trailing-bin";
/**
 * A request payload with this body makes the handler throw a plain Error (not a ConnectError) whose
 * message holds SECRET_DETAIL: the host must answer INTERNAL without leaking it.
 */
export const THROW_PLAIN_ERROR = new TextEncoder().encode("weft:throw-plain-error");
/** Text in the plain error that must never reach a caller. */
export const SECRET_DETAIL = "secret-internal-detail at /srv/db.ts:42";

/** Options of the test service. */
export interface TestServiceImplOptions {
  /** Reported in UnaryCallResponse.served_by. Default "test-service". */
  servedBy?: string;
}

/** Sleeps `ms`, rejecting with the signal's reason when the call is cancelled or times out. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function failIfAsked(status: EchoStatus | undefined): void {
  if (status !== undefined && status.code !== 0) {
    throw new ConnectError(status.message, status.code as Code);
  }
}

function echoMetadata(context: HandlerContext): void {
  const initial = context.requestHeader.get(ECHO_INITIAL_HEADER);
  if (initial !== null) context.responseHeader.set(ECHO_INITIAL_HEADER, initial);
  const trailing = context.requestHeader.get(ECHO_TRAILING_BIN_HEADER);
  if (trailing !== null) context.responseTrailer.set(ECHO_TRAILING_BIN_HEADER, trailing);
}

/** Creates the TestService handlers. UnimplementedCall is deliberately left out. */
export function createTestServiceImpl(options: TestServiceImplOptions = {}): Partial<ServiceImpl<typeof TestService>> {
  const servedBy = options.servedBy ?? "test-service";
  const unary = async (
    request: { responseSize: number; payload?: { body: Uint8Array }; responseStatus?: EchoStatus; sleepMs: number },
    context: HandlerContext,
  ) => {
    echoMetadata(context);
    if (request.payload !== undefined && equalBytes(request.payload.body, THROW_PLAIN_ERROR)) {
      throw new Error(`database exploded: ${SECRET_DETAIL}`);
    }
    await sleep(request.sleepMs, context.signal);
    failIfAsked(request.responseStatus);
    return { payload: { body: new Uint8Array(Math.max(0, request.responseSize)) }, servedBy };
  };
  return {
    emptyCall(_request, context) {
      echoMetadata(context);
      return {};
    },
    unaryCall: unary,
    cacheableUnaryCall: unary,
    async *streamingOutputCall(request, context) {
      echoMetadata(context);
      for (const parameters of request.responseParameters) {
        await sleep(Math.ceil(parameters.intervalUs / 1000), context.signal);
        yield { payload: { body: new Uint8Array(Math.max(0, parameters.size)) } };
      }
      failIfAsked(request.responseStatus);
    },
    async streamingInputCall(requests, context) {
      echoMetadata(context);
      let aggregatedPayloadSize = 0;
      for await (const request of requests) aggregatedPayloadSize += request.payload?.body.length ?? 0;
      return { aggregatedPayloadSize };
    },
    async *fullDuplexCall(requests, context) {
      echoMetadata(context);
      for await (const request of requests) {
        failIfAsked(request.responseStatus);
        for (const parameters of request.responseParameters) {
          await sleep(Math.ceil(parameters.intervalUs / 1000), context.signal);
          yield { payload: { body: new Uint8Array(Math.max(0, parameters.size)) } };
        }
      }
    },
  };
}

/** The TestService descriptor, re-exported with its implementation. */
export { TestService };
