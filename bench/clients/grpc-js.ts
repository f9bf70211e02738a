// @grpc/grpc-js client (one channel, proto-loader stubs) calling UnaryCall with N calls in flight.
//
// With BENCH_MTLS_DIR: TLS with the bench client's certificate (grpc.credentials.createSsl).
//
// Usage: node bench/clients/grpc-js.ts --port P --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import * as grpc from "@grpc/grpc-js";
import { BENCH_PAYLOAD_BYTES } from "../lib/bench-request.ts";
import { loadTestServiceClient } from "../lib/grpc-js-definition.ts";
import { packageVersion } from "../lib/package-version.ts";
import { drive, parseDriveArgs, report } from "./drive.ts";
import { BENCH_CLIENT, BENCH_MTLS_ENV, benchPem } from "../lib/mtls.ts";

const args = parseDriveArgs(process.argv);
const TestService = loadTestServiceClient();
const mtlsDir = process.env[BENCH_MTLS_ENV];
const pem = mtlsDir === undefined ? undefined : benchPem(mtlsDir, BENCH_CLIENT);
// The bench certificates name a SPIFFE ID, not 127.0.0.1: the chain is checked, the host name is not.
const credentials = pem === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(pem.ca, pem.key, pem.cert, { checkServerIdentity: () => undefined });
const client = new TestService(`127.0.0.1:${args.port}`, credentials) as unknown as grpc.Client & {
  UnaryCall(request: object, callback: (error: grpc.ServiceError | null, response?: { payload?: { body?: Buffer } }) => void): void;
};
const request = { responseSize: BENCH_PAYLOAD_BYTES, payload: { body: Buffer.alloc(BENCH_PAYLOAD_BYTES, 0x61) } };

const call = () =>
  new Promise<{ payload?: { body?: Buffer } }>((resolve, reject) => {
    client.UnaryCall(request, (error, response) => (error ? reject(error) : resolve(response ?? {})));
  });

const result = await drive(
  call,
  (response) => {
    const body = response.payload?.body;
    return body !== undefined && body.length === BENCH_PAYLOAD_BYTES && body.every((b) => b === 0);
  },
  { ...args, detail: `@grpc/grpc-js ${packageVersion("@grpc/grpc-js")} client, one channel${pem === undefined ? "" : ", TLS with a client certificate"}` },
);
client.close();
report(result);
process.exit(0);
