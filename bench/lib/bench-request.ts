// The one request every benchmark sends, and the exact response every server must answer with.
//
// All peers serve weft.testing.v1.TestService/UnaryCall. The request asks for a 16-byte payload back and
// carries a 16-byte payload, so both the request and the response are tiny but non-empty (the codec
// runs). Servers answer `served_by` empty, so every peer's response is byte-identical and the harness
// can verify it exactly: the gRPC frame in binary, the JSON body for Connect JSON over HTTP/1.1.

import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  UnaryCallRequestSchema,
  UnaryCallResponseSchema,
  type UnaryCallRequest,
  type UnaryCallResponse,
} from "../../gen/weft/testing/v1/test_pb.ts";

/** Bytes of payload in the request and asked for in the response. */
export const BENCH_PAYLOAD_BYTES = 16;

/** The RPC path every scenario calls. */
export const BENCH_PATH = "/weft.testing.v1.TestService/UnaryCall";

/** The request message. */
export const benchRequest: UnaryCallRequest = create(UnaryCallRequestSchema, {
  responseSize: BENCH_PAYLOAD_BYTES,
  payload: { body: new Uint8Array(BENCH_PAYLOAD_BYTES).fill(0x61) },
});

/** The response message every server must produce for `benchRequest`. */
export const benchResponse: UnaryCallResponse = create(UnaryCallResponseSchema, {
  payload: { body: new Uint8Array(BENCH_PAYLOAD_BYTES) },
});

/** Wraps a protobuf message in a gRPC length-prefixed frame (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The gRPC request body (one frame) sent by h2load. */
export const grpcRequestFrame: Buffer = grpcFrame(toBinary(UnaryCallRequestSchema, benchRequest));

/** The gRPC response body (one frame) every gRPC server must send. */
export const grpcResponseFrame: Buffer = grpcFrame(toBinary(UnaryCallResponseSchema, benchResponse));

/** The Connect JSON request body sent by autocannon. */
export const jsonRequestBody: string = toJsonString(UnaryCallRequestSchema, benchRequest);

/** The Connect JSON response body every HTTP/1.1 server must send. */
export const jsonResponseBody: string = toJsonString(UnaryCallResponseSchema, benchResponse);

/** True when `response` is the expected answer to `benchRequest`. */
export function isBenchResponse(response: { payload?: { body: Uint8Array } }): boolean {
  const body = response.payload?.body;
  return body !== undefined && body.length === BENCH_PAYLOAD_BYTES && body.every((b) => b === 0);
}
