// A workload's credentials: the trust bundle (ca.crt), its certificate chain (tls.crt) and key
// (tls.key), the file layout of cert-manager's CSI driver and of SPIRE's helper, validated as a set.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WeftError } from "../errors/index.ts";
import { certificateIdentity } from "./certificate-identity.ts";
import type { WorkloadId } from "./workload-id.ts";

/** The file names in a workload's credentials folder. */
export const CREDENTIAL_FILES = Object.freeze({ ca: "ca.crt", cert: "tls.crt", key: "tls.key" });

/** A validated set of credentials. */
export interface WorkloadCredentials {
  /** Trust bundle (PEM): the CA certificates peers must chain to. */
  readonly caPem: string;
  /** This workload's certificate chain (PEM, leaf first). */
  readonly certPem: string;
  /** This workload's private key (PEM). */
  readonly keyPem: string;
  /** The identity the leaf proves. */
  readonly id: WorkloadId;
  /** The leaf, parsed. */
  readonly leaf: X509Certificate;
  /** The trust bundle's certificates, parsed. */
  readonly cas: readonly X509Certificate[];
}

/** Credentials that cannot be used (WEFT_ERR_SECURITY_CREDENTIALS); the message says why, never holds key material. */
export class CredentialsError extends WeftError {
  constructor(message: string) {
    super("WEFT_ERR_SECURITY_CREDENTIALS", message);
  }
}

/** Splits a PEM bundle into its certificates. */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** True when `cert` is signed by one of `cas` and valid at `now`. */
export function chainsTo(cert: X509Certificate, cas: readonly X509Certificate[], now = new Date()): boolean {
  if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) return false;
  return cas.some((ca) => ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/**
 * Validates PEM credentials: the key matches the leaf, the leaf chains to the bundle and is valid now,
 * and it proves a workload identity in `trustDomain` (of `service`, when given).
 */
export function validateCredentials(pems: { caPem: string; certPem: string; keyPem: string }, trustDomain: string, service?: string): WorkloadCredentials {
  let cas: X509Certificate[];
  let chain: X509Certificate[];
  try {
    cas = pemCertificates(pems.caPem);
    chain = pemCertificates(pems.certPem);
  } catch {
    throw new CredentialsError("a certificate is not valid PEM/DER");
  }
  if (cas.length === 0) throw new CredentialsError(`${CREDENTIAL_FILES.ca} holds no certificate`);
  if (chain.length === 0) throw new CredentialsError(`${CREDENTIAL_FILES.cert} holds no certificate`);
  const leaf = chain[0];
  let key;
  try {
    key = createPrivateKey(pems.keyPem);
  } catch {
    throw new CredentialsError(`${CREDENTIAL_FILES.key} is not a private key`);
  }
  if (!leaf.checkPrivateKey(key)) throw new CredentialsError(`${CREDENTIAL_FILES.key} does not match ${CREDENTIAL_FILES.cert}`);
  const intermediates = chain.slice(1);
  if (!chainsTo(leaf, [...cas, ...intermediates]) || !intermediates.every((c) => chainsTo(c, cas) || intermediates.some((i) => i !== c && chainsTo(c, [i])))) {
    throw new CredentialsError(`${CREDENTIAL_FILES.cert} does not chain to ${CREDENTIAL_FILES.ca}, or is not valid now`);
  }
  const identity = certificateIdentity(leaf, trustDomain);
  if (!identity.ok) throw new CredentialsError(`${CREDENTIAL_FILES.cert} proves no workload identity in ${trustDomain} (${identity.reason})`);
  if (service !== undefined && identity.id.service !== service) {
    throw new CredentialsError(`${CREDENTIAL_FILES.cert} is the identity of ${identity.id.service}, not ${service}`);
  }
  return Object.freeze({ ...pems, id: identity.id, leaf, cas: Object.freeze(cas) });
}

/** Reads and validates the credentials in `dir` (ca.crt, tls.crt, tls.key). */
export async function readCredentials(dir: string, trustDomain: string, service?: string, signal?: AbortSignal): Promise<WorkloadCredentials> {
  const read = (name: string) => readFile(join(dir, name), { encoding: "utf8", signal });
  let pems;
  try {
    const [caPem, certPem, keyPem] = await Promise.all([read(CREDENTIAL_FILES.ca), read(CREDENTIAL_FILES.cert), read(CREDENTIAL_FILES.key)]);
    pems = { caPem, certPem, keyPem };
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new CredentialsError(`cannot read ${dir}/{${Object.values(CREDENTIAL_FILES).join(",")}}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  return validateCredentials(pems, trustDomain, service);
}
