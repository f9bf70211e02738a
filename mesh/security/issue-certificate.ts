// Issues X.509 certificates with Node's crypto alone: a development CA and ECDSA P-256 workload leaves
// with one SPIFFE URI SAN (what cert-manager's CSI driver or SPIRE would hand a production workload).

import { createHash, createPrivateKey, generateKeyPairSync, KeyObject, randomBytes, sign, X509Certificate } from "node:crypto";
import * as der from "./der.ts";

/** A certificate and its private key, PEM-encoded. */
export interface IssuedCertificate {
  /** The certificate (PEM). */
  readonly certPem: string;
  /** The private key (PKCS#8 PEM). */
  readonly keyPem: string;
}

/** Options of {@link issueCertificate}. */
export interface IssueCertificateOptions {
  /** Subject common name. Required (a CA's name, or the service name of a leaf). */
  readonly commonName: string;
  /** URI subject alternative names (a workload leaf has exactly one SPIFFE ID). Default none. */
  readonly uris?: readonly string[];
  /** DNS subject alternative names. Default none. */
  readonly dnsNames?: readonly string[];
  /** True for a CA certificate (basicConstraints CA:TRUE, keyCertSign). Default false. */
  readonly isCa?: boolean;
  /** The issuer; undefined for a self-signed certificate (a root CA). */
  readonly issuer?: IssuedCertificate;
  /** Start of validity. Default: one minute ago (clock skew). */
  readonly notBefore?: Date;
  /** End of validity. Default: notBefore + `validityMs`. */
  readonly notAfter?: Date;
  /** Lifetime when `notAfter` is not given, in ms. Default 24 hours (a leaf) or 365 days (a CA). */
  readonly validityMs?: number;
}

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const DAY_MS = 86_400_000;

function name(commonName: string): Buffer {
  return der.sequence(
    der.set(der.sequence(der.oid(OID.organization), der.utf8("Weft"))),
    der.set(der.sequence(der.oid(OID.commonName), der.utf8(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
function keyIdentifier(spki: Buffer): Buffer {
  const [, publicKey] = der.children(der.readElement(spki).content);
  return createHash("sha1").update(publicKey.content.subarray(1)).digest();
}

/** Issues a certificate with a new ECDSA P-256 key, signed by `options.issuer` (or itself). */
export function issueCertificate(options: IssueCertificateOptions): IssuedCertificate {
  const isCa = options.isCa ?? false;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const issuerCert = options.issuer === undefined ? undefined : new X509Certificate(options.issuer.certPem);
  const issuerKey: KeyObject = options.issuer === undefined ? privateKey : createPrivateKey(options.issuer.keyPem);
  const issuerSpki = issuerCert === undefined ? spki : issuerCert.publicKey.export({ type: "spki", format: "der" });
  // The issuer field is the issuer's subject, byte for byte (chain building compares them).
  const issuerName = issuerCert === undefined ? name(options.commonName) : tbsFields(issuerCert.raw)[5];

  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.validityMs ?? (isCa ? 365 * DAY_MS : DAY_MS)));
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;

  const sans = [...(options.uris ?? []).map((u) => der.implicit(6, Buffer.from(u, "latin1"))), ...(options.dnsNames ?? []).map((d) => der.implicit(2, Buffer.from(d, "latin1")))];
  const extensions = [
    extension(OID.basicConstraints, true, isCa ? der.sequence(der.boolean(true)) : der.sequence()),
    // CA: keyCertSign + cRLSign; leaf: digitalSignature (ECDHE + ECDSA in TLS 1.3).
    extension(OID.keyUsage, true, isCa ? der.bitString(Buffer.from([0x06]), 1) : der.bitString(Buffer.from([0x80]), 7)),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spki))),
    extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, keyIdentifier(issuerSpki)))),
    ...(isCa ? [] : [extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth)))]),
    ...(sans.length > 0 ? [extension(OID.subjectAltName, false, der.sequence(...sans))] : []),
  ];
  const signatureAlgorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const tbs = der.sequence(
    der.explicit(0, der.unsignedInteger(Buffer.from([2]))),
    der.unsignedInteger(serial),
    signatureAlgorithm,
    issuerName,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name(options.commonName),
    spki,
    der.explicit(3, der.sequence(...extensions)),
  );
  const signature = sign("sha256", tbs, issuerKey);
  const cert = der.sequence(tbs, signatureAlgorithm, der.bitString(signature));
  return Object.freeze({
    certPem: toPem("CERTIFICATE", cert),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  });
}

/** The raw fields of a certificate's tbsCertificate (version, serial, sigAlg, issuer, validity, subject, ...). */
export function tbsFields(certDer: Buffer): Buffer[] {
  const [tbs] = der.children(der.readElement(certDer).content);
  const content = tbs.content;
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < content.length) {
    const e = der.readElement(content, offset);
    out.push(content.subarray(offset, e.end));
    offset = e.end;
  }
  return out;
}

function toPem(label: string, body: Buffer): string {
  const b64 = body.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
