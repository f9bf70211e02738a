// Shared helpers of the wire suite: start a host on an engine, build real clients, send raw bytes.

import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createHost, type Host, type HostLogger, type HostOptions, type WireEngine } from "../../mesh/host/index.ts";
import { file_weft_testing_v1_test } from "../../gen/weft/testing/v1/test_pb.ts";
import { createTestServiceImpl, TestService } from "../support/test-service.ts";

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A logger that remembers what it was told (to assert what the server logged, and keep test output clean). */
export interface CapturingLogger extends HostLogger {
  readonly errors: { message: string; fields?: Readonly<Record<string, unknown>> }[];
}

/** Creates a CapturingLogger. */
export function capturingLogger(): CapturingLogger {
  const errors: CapturingLogger["errors"] = [];
  return { errors, error: (message, fields) => errors.push({ message, fields }), info() {} };
}

/** A started host serving TestService. */
export interface StartedHost {
  readonly host: Host;
  readonly url: string;
  readonly port: number;
  readonly logger: CapturingLogger;
}

/** Starts a host on `engine` (port 0, silent logger) serving TestService, plus `options`. */
export async function startTestHost(engine: WireEngine, options: HostOptions = {}): Promise<StartedHost> {
  const logger = capturingLogger();
  const host = createHost({ port: 0, logger, engine, ...options });
  host.register(TestService, createTestServiceImpl({ servedBy: "wire-test" }));
  const { url, port } = await host.listen();
  return { host, url, port, logger };
}

/** Every file `file` depends on, and itself, dependencies first. */
function withDependencies(file: DescFile, out: DescFile[] = []): DescFile[] {
  for (const dep of file.dependencies) withDependencies(dep, out);
  if (!out.includes(file)) out.push(file);
  return out;
}

/** The grpc-js package definition of TestService, built from the generated descriptors (no .proto). */
export function testServicePackage(): grpc.GrpcObject {
  const set = create(FileDescriptorSetSchema, { file: withDependencies(file_weft_testing_v1_test).map((f) => f.proto) });
  const definition = loadFileDescriptorSetFromBuffer(Buffer.from(toBinary(FileDescriptorSetSchema, set)), {
    longs: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition);
}

/** A grpc-js client of TestService (HTTP/2). Close it with `.close()`. */
export function grpcJsTestClient(port: number): grpc.Client & Record<string, Function> {
  const pkg = testServicePackage() as unknown as { weft: { testing: { v1: { TestService: grpc.ServiceClientConstructor } } } };
  const Ctor = pkg.weft.testing.v1.TestService;
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>;
}

/** The outcome of one grpc-js unary call, success or not. */
export interface GrpcJsOutcome {
  readonly code: grpc.status;
  readonly details: string;
  readonly response: Record<string, unknown> | undefined;
  readonly headers: grpc.Metadata | undefined;
  readonly trailers: grpc.Metadata | undefined;
}

/** Calls a unary method with grpc-js and resolves with everything observable about the call. */
export function grpcJsUnary(
  client: grpc.Client & Record<string, Function>,
  method: string,
  request: Record<string, unknown>,
  options: { metadata?: grpc.Metadata; deadlineMs?: number } = {},
): Promise<GrpcJsOutcome> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let response: Record<string, unknown> | undefined;
    const callOptions: grpc.CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    const call = client[method](request, options.metadata ?? new grpc.Metadata(), callOptions, (err: grpc.ServiceError | null, res: Record<string, unknown>) => {
      if (err === null) response = res;
    }) as grpc.ClientUnaryCall;
    call.on("metadata", (m: grpc.Metadata) => (headers = m));
    call.on("status", (s: grpc.StatusObject) => {
      // The callback runs before 'status'; read the response on the next tick to be safe.
      setImmediate(() => resolve({ code: s.code, details: s.details, response, headers, trailers: s.metadata }));
    });
  });
}

/** The result of a raw HTTP/2 request. */
export interface RawH2Response {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
  readonly body: Buffer;
  /** Set when the stream was reset or the session failed instead of a response. */
  readonly error?: Error;
}

/** Sends one raw HTTP/2 request (prior knowledge) and collects the whole response. */
export function rawH2Request(url: string, headers: http2.OutgoingHttpHeaders, body?: Uint8Array, endStream = true): Promise<RawH2Response> {
  return new Promise((resolve) => {
    const session = http2.connect(url);
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const done = (error?: Error) => {
      session.close();
      resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
    };
    session.on("error", (err) => done(err));
    const stream = session.request({ ":method": "POST", ...headers }, { endStream: body === undefined && endStream });
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => done());
    stream.on("error", (err) => done(err));
    if (body !== undefined) {
      if (endStream) stream.end(body);
      else stream.write(body);
    }
  });
}

/** Frames one gRPC message (uncompressed): flag byte, 4-byte big-endian length, payload. */
export function grpcFrame(payload: Uint8Array, declaredLength = payload.length): Buffer {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(declaredLength, 1);
  frame.set(payload, 5);
  return frame;
}

/** Writes raw bytes to the host's port and resolves with everything it answers before closing (or the timeout). */
export function rawSocketExchange(port: number, bytes: Uint8Array, timeoutMs = 2_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** The result of running a command. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `buf` (from node_modules/.bin) with `args`; kills it after `timeoutMs`. */
export function runBuf(args: readonly string[], timeoutMs = 20_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, "node_modules/.bin/buf"), args, { cwd: "/tmp", stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Encodes a Connect GET query for a JSON message. */
export function connectGetQuery(message: unknown): string {
  return `?connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`;
}

/** The TestService descriptor, re-exported for tests. */
export { TestService };
