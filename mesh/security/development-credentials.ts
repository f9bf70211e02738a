// Development credentials: one CA and one leaf per service, in memory (`npm start`) or written to a
// folder per workload in the layout the runtime watches (`npm run certs`). Production takes the same
// files from cert-manager or SPIRE instead.

import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { issueCertificate, type IssuedCertificate } from "./issue-certificate.ts";
import { CREDENTIAL_FILES, validateCredentials, type WorkloadCredentials } from "./workload-credentials.ts";
import { workloadId } from "./workload-id.ts";

/** A development CA and the credentials it issued. */
export interface DevelopmentCredentials {
  /** The CA (certificate and key). */
  readonly ca: IssuedCertificate;
  /** Each service's credentials, by service name. */
  readonly workloads: ReadonlyMap<string, WorkloadCredentials>;
}

/** Options of {@link issueDevelopmentCredentials}. */
export interface DevelopmentCredentialsOptions {
  /** Trust domain of every identity. Required. */
  readonly trustDomain: string;
  /** Service names, one leaf each. Required. */
  readonly services: readonly string[];
  /** An existing CA to issue from (rotation of the leaves only). Default: a new CA. */
  readonly ca?: IssuedCertificate;
  /** Lifetime of each leaf, in ms. Default 24 hours. */
  readonly leafValidityMs?: number;
}

/** Issues a CA (unless given) and an ECDSA P-256 leaf with one SPIFFE URI SAN per service. */
export function issueDevelopmentCredentials(options: DevelopmentCredentialsOptions): DevelopmentCredentials {
  const ca = options.ca ?? issueCertificate({ commonName: `Weft development CA (${options.trustDomain})`, isCa: true });
  const workloads = new Map<string, WorkloadCredentials>();
  for (const service of options.services) {
    const id = workloadId(options.trustDomain, service);
    const leaf = issueCertificate({ commonName: service, uris: [id.uri], issuer: ca, validityMs: options.leafValidityMs });
    workloads.set(service, validateCredentials({ caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem }, options.trustDomain, service));
  }
  return { ca, workloads };
}

/** Writes a file atomically (temporary name, then rename), so a watcher never reads half of it. */
export async function writeAtomically(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Writes one workload's credentials as `dir`/{ca.crt,tls.crt,tls.key} (the key readable by its owner only). */
export async function writeCredentials(dir: string, credentials: Pick<WorkloadCredentials, "caPem" | "certPem" | "keyPem">): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Bundle first and key before certificate: every intermediate state is an old or a new valid pair, or
  // a mismatch the reloader refuses and retries.
  await writeAtomically(join(dir, CREDENTIAL_FILES.ca), credentials.caPem, 0o644);
  await writeAtomically(join(dir, CREDENTIAL_FILES.key), credentials.keyPem, 0o600);
  await writeAtomically(join(dir, CREDENTIAL_FILES.cert), credentials.certPem, 0o644);
}

/** The file name of the development CA's private key, beside its ca.crt. */
export const CA_KEY_FILE = "ca.key";

/** Writes a CA as `dir`/{ca.crt,ca.key} (the key readable by its owner only). */
export async function writeCertificateAuthority(dir: string, ca: IssuedCertificate): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomically(join(dir, CREDENTIAL_FILES.ca), ca.certPem, 0o644);
  await writeAtomically(join(dir, CA_KEY_FILE), ca.keyPem, 0o600);
}
