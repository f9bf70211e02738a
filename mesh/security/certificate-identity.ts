// The workload identity a certificate proves, read from its DER subjectAltName extension (never from
// Node's printed `subjectaltname`, where a URI holding ", URI:..." reads like two names).

import type { X509Certificate } from "node:crypto";
import * as der from "./der.ts";
import { parseWorkloadId, type WorkloadId } from "./workload-id.ts";

/** Why a certificate proves no acceptable identity. */
export type IdentityRejection =
  | "malformed-certificate"
  | "ca-certificate"
  | "no-uri-san"
  | "several-uri-sans"
  | "not-a-workload-id"
  | "wrong-trust-domain";

/** The outcome of reading a certificate's identity. */
export type CertificateIdentity = { readonly ok: true; readonly id: WorkloadId } | { readonly ok: false; readonly reason: IdentityRejection };

const SUBJECT_ALT_NAME = "2.5.29.17";
/** GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String. */
const URI_TAG = 0x86;

/** The URI SANs of a DER certificate, in order. Throws DerError when the DER is malformed. */
export function uriSubjectAltNames(certDer: Buffer): string[] {
  const [tbs] = der.children(der.readElement(certDer).content);
  const extensionsField = der.children(tbs.content).find((e) => e.tag === 0xa3);
  if (extensionsField === undefined) return [];
  const [list] = der.children(extensionsField.content);
  const uris: string[] = [];
  let seen = false;
  for (const ext of der.children(list.content)) {
    const parts = der.children(ext.content);
    if (parts[0]?.tag !== der.Tag.oid || der.decodeOid(parts[0].content) !== SUBJECT_ALT_NAME) continue;
    // RFC 5280: an extension appears at most once; two SAN extensions are a forgery attempt.
    if (seen) throw new der.DerError("two subjectAltName extensions");
    seen = true;
    const value = parts[parts.length - 1];
    if (value.tag !== der.Tag.octetString) throw new der.DerError("subjectAltName value is not an OCTET STRING");
    const [names] = der.children(value.content);
    if (names?.tag !== der.Tag.sequence) throw new der.DerError("subjectAltName is not a SEQUENCE");
    for (const name of der.children(names.content)) {
      if (name.tag === URI_TAG) uris.push(name.content.toString("latin1"));
    }
  }
  return uris;
}

/**
 * The workload identity `cert` proves within `trustDomain`: a leaf (not a CA) with exactly one URI SAN
 * of the form `spiffe://<trustDomain>/svc/<service>`. The chain itself is TLS's business (checked
 * against the trust bundle before this runs).
 */
export function certificateIdentity(cert: X509Certificate, trustDomain: string): CertificateIdentity {
  if (cert.ca) return { ok: false, reason: "ca-certificate" };
  let uris: string[];
  try {
    uris = uriSubjectAltNames(cert.raw);
  } catch {
    return { ok: false, reason: "malformed-certificate" };
  }
  if (uris.length === 0) return { ok: false, reason: "no-uri-san" };
  if (uris.length > 1) return { ok: false, reason: "several-uri-sans" };
  const id = parseWorkloadId(uris[0]);
  if (id === undefined) return { ok: false, reason: "not-a-workload-id" };
  if (id.trustDomain !== trustDomain) return { ok: false, reason: "wrong-trust-domain" };
  return { ok: true, id };
}
