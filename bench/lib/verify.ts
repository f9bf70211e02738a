// A decoded, checked call before and after each load run, independent of the load generator: the
// server must answer the bench request with exactly the bench response over the scenario's protocol.

import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import * as http from "node:http";
import * as http2 from "node:http2";
import { UnaryCallResponseSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { BENCH_PATH, grpcRequestFrame, isBenchResponse, jsonRequestBody } from "./bench-request.ts";

const CHECK_TIMEOUT_MS = 5000;

/**
 * Calls UnaryCall over gRPC and returns the problems found (empty = correct answer): h2c, or TLS with
 * the client certificate `tls` (the server's identity is not checked here, only its answer).
 */
export function checkGrpcCall(port: number, tls?: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer }): Promise<string[]> {
  return new Promise((resolve) => {
    const session = tls === undefined
      ? http2.connect(`http://127.0.0.1:${port}`)
      : http2.connect(`https://127.0.0.1:${port}`, { ...tls, ALPNProtocols: ["h2"], checkServerIdentity: () => undefined });
    const finish = (problems: string[]) => {
      clearTimeout(timer);
      session.close();
      resolve(problems);
    };
    const timer = setTimeout(() => {
      session.destroy();
      resolve([`no gRPC answer within ${CHECK_TIMEOUT_MS} ms`]);
    }, CHECK_TIMEOUT_MS);
    session.on("error", (error) => finish([`gRPC session error: ${error.message}`]));
    const stream = session.request({
      ":method": "POST",
      ":path": BENCH_PATH,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error) => finish([`gRPC stream error: ${error.message}`]));
    stream.on("end", () => {
      const problems: string[] = [];
      const body = Buffer.concat(chunks);
      const status = trailers["grpc-status"] ?? headers["grpc-status"];
      if (Number(headers[":status"]) !== 200) problems.push(`HTTP status ${String(headers[":status"])}`);
      if (!String(headers["content-type"]).startsWith("application/grpc")) problems.push(`content-type ${String(headers["content-type"])}`);
      if (status !== "0") problems.push(`grpc-status ${String(status)} (${String(trailers["grpc-message"] ?? headers["grpc-message"])})`);
      if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
        problems.push(`response body is not one uncompressed gRPC frame (${body.length} bytes)`);
      } else {
        try {
          if (!isBenchResponse(fromBinary(UnaryCallResponseSchema, body.subarray(5)))) problems.push("wrong response message");
        } catch (error) {
          problems.push(`response does not decode: ${(error as Error).message}`);
        }
      }
      finish(problems);
    });
    stream.end(grpcRequestFrame);
  });
}

/** Calls UnaryCall over Connect JSON on HTTP/1.1 and returns the problems found. */
export function checkConnectJsonCall(port: number): Promise<string[]> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: BENCH_PATH,
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        timeout: CHECK_TIMEOUT_MS,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const problems: string[] = [];
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) problems.push(`HTTP status ${res.statusCode}: ${text.slice(0, 200)}`);
          if (!String(res.headers["content-type"]).startsWith("application/json")) problems.push(`content-type ${res.headers["content-type"]}`);
          try {
            if (!isBenchResponse(fromJsonString(UnaryCallResponseSchema, text))) problems.push("wrong response message");
          } catch (error) {
            problems.push(`response does not decode: ${(error as Error).message}`);
          }
          resolve(problems);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)));
    req.on("error", (error) => resolve([`HTTP/1.1 error: ${error.message}`]));
    req.end(jsonRequestBody);
  });
}
