// Credentials of the mTLS scenarios: a development CA and two workloads, `bench-server` and
// `bench-client` (spiffe://weft.local/svc/...), written once per bench run into the folder the
// scenarios' environment names (BENCH_MTLS_DIR), read by servers, client drivers and the checks.

import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CREDENTIAL_FILES, issueDevelopmentCredentials, writeCredentials } from "../../mesh/security/index.ts";

/** Environment variable naming the credentials folder; unset: the scenario runs without TLS. */
export const BENCH_MTLS_ENV = "BENCH_MTLS_DIR";
/** Environment variable turning the Weft server's authorization hooks on ("1"). */
export const BENCH_AUTHZ_ENV = "BENCH_AUTHZ";
/** Trust domain of the bench identities. */
export const BENCH_TRUST_DOMAIN = "weft.local";
/** The server's and the client's workload names. */
export const BENCH_SERVER = "bench-server";
export const BENCH_CLIENT = "bench-client";

/** The credentials folder of this bench run (the runner's process). */
export function benchMtlsDir(): string {
  return join(tmpdir(), `weft-bench-mtls-${process.pid}`);
}

/** Writes the CA and both workloads' credentials into `dir` unless they are there. */
export async function ensureBenchCredentials(dir: string): Promise<void> {
  if (existsSync(join(dir, BENCH_CLIENT, CREDENTIAL_FILES.cert))) return;
  const issued = issueDevelopmentCredentials({ trustDomain: BENCH_TRUST_DOMAIN, services: [BENCH_SERVER, BENCH_CLIENT] });
  for (const [name, credentials] of issued.workloads) await writeCredentials(join(dir, name), credentials);
}

/** A workload's PEM files, for clients that take them as buffers (grpc-js, node:http2). */
export function benchPem(dir: string, workload: string): { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } {
  const read = (file: string) => readFileSync(join(dir, workload, file));
  return { ca: read(CREDENTIAL_FILES.ca), cert: read(CREDENTIAL_FILES.cert), key: read(CREDENTIAL_FILES.key) };
}
