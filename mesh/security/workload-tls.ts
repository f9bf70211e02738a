// Mutual TLS for one workload: its current credentials (reloaded from their files when they change,
// validated before use), the server's options (TLS 1.3, client certificates required), the client's
// options (the server's identity checked before the first request is written), and the peer identity
// of a connection, read once from its certificate.

import { X509Certificate } from "node:crypto";
import type * as tls from "node:tls";
import { WeftOptionsError } from "../errors/index.ts";
import { certificateIdentity } from "./certificate-identity.ts";
import { CredentialsError, readCredentials, type WorkloadCredentials } from "./workload-credentials.ts";
import { isTrustDomain, type WorkloadId } from "./workload-id.ts";

const OPTIONS = "WEFT_ERR_SECURITY_OPTIONS";

/** Options of {@link createWorkloadTls}. */
export interface WorkloadTlsOptions {
  /** The trust domain every peer must belong to, e.g. "weft.local". Required. */
  readonly trustDomain: string;
  /** Folder holding ca.crt, tls.crt and tls.key, watched for rotation. One of `dir` / `credentials`. */
  readonly dir?: string;
  /** Fixed credentials (e.g. issued in memory for one process); never rotate. One of `dir` / `credentials`. */
  readonly credentials?: WorkloadCredentials;
  /** The service this workload must be (its leaf's identity is checked). Default: whatever the leaf proves. */
  readonly service?: string;
  /** How often the files are checked for new content, in ms. Default 1000. */
  readonly pollIntervalMs?: number;
  /** Told about files that changed but cannot be used (the old credentials stay in force). Default: ignored. */
  readonly onReloadError?: (error: CredentialsError) => void;
}

/** A client's TLS settings for one expected server (a subset of `tls.ConnectionOptions`). */
export interface WorkloadClientTls {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  readonly minVersion: "TLSv1.3";
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity: (hostname: string, cert: tls.PeerCertificate) => Error | undefined;
}

/** A workload's mutual-TLS state. */
export interface WorkloadTls {
  /** This workload's identity. */
  readonly id: WorkloadId;
  /** The trust domain. */
  readonly trustDomain: string;
  /** The credentials in force. */
  current(): WorkloadCredentials;
  /** Options for `tls.createServer` / `server.setSecureContext`: TLS 1.3, client certificate required. */
  serverOptions(): tls.TlsOptions;
  /**
   * Options for `tls.connect` to a server that must prove `expected`: the handshake fails, before any
   * byte of a request is written, when its certificate proves another identity (always, for undefined).
   */
  clientOptions(expected: WorkloadId | string | undefined): WorkloadClientTls;
  /** The verified identity of an authorised TLS peer, undefined when it proves none acceptable. */
  identify(socket: tls.TLSSocket): WorkloadId | undefined;
  /** Calls `listener` with the new credentials after each rotation; returns an unsubscribe function. */
  onRotate(listener: (credentials: WorkloadCredentials) => void): () => void;
  /** Checks the files now (rotation also happens on the poll). Resolves true when new credentials took effect. */
  reload(): Promise<boolean>;
  /** Stops watching the files. */
  close(): void;
}

/** The identity a peer certificate proves in `trustDomain`, or an Error saying why not (for checkServerIdentity). */
function checkPeer(raw: Buffer | undefined, trustDomain: string, expected: string | undefined): Error | undefined {
  if (expected === undefined) return new Error("no workload is known to serve this endpoint");
  if (raw === undefined) return new Error("the server presented no certificate");
  const identity = certificateIdentity(new X509Certificate(raw), trustDomain);
  if (!identity.ok) return new Error(`the server's certificate proves no workload identity (${identity.reason})`);
  if (identity.id.uri !== expected) return new Error(`the server is ${identity.id.uri}, expected ${expected}`);
  return undefined;
}

class FileWorkloadTls implements WorkloadTls {
  readonly trustDomain: string;
  readonly #options: WorkloadTlsOptions;
  readonly #listeners = new Set<(c: WorkloadCredentials) => void>();
  #current: WorkloadCredentials;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<boolean> | undefined;

  constructor(options: WorkloadTlsOptions, initial: WorkloadCredentials) {
    this.#options = options;
    this.trustDomain = options.trustDomain;
    this.#current = initial;
    if (options.dir !== undefined) {
      this.#timer = setInterval(() => void this.reload(), options.pollIntervalMs ?? 1000);
      this.#timer.unref();
    }
  }

  get id(): WorkloadId {
    return this.#current.id;
  }

  current(): WorkloadCredentials {
    return this.#current;
  }

  serverOptions(): tls.TlsOptions {
    const c = this.#current;
    return { key: c.keyPem, cert: c.certPem, ca: c.caPem, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" };
  }

  clientOptions(expected: WorkloadId | string | undefined): WorkloadClientTls {
    const c = this.#current;
    const uri = typeof expected === "object" ? expected.uri : expected;
    const trustDomain = this.trustDomain;
    return {
      key: c.keyPem,
      cert: c.certPem,
      ca: c.caPem,
      minVersion: "TLSv1.3",
      rejectUnauthorized: true,
      // Host names mean nothing in the mesh: the identity in the certificate is what is checked.
      checkServerIdentity: (_host, cert) => checkPeer(cert.raw, trustDomain, uri),
    };
  }

  identify(socket: tls.TLSSocket): WorkloadId | undefined {
    if (!socket.authorized) return undefined;
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return undefined;
    const identity = certificateIdentity(cert, this.trustDomain);
    return identity.ok ? identity.id : undefined;
  }

  onRotate(listener: (credentials: WorkloadCredentials) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  reload(): Promise<boolean> {
    const dir = this.#options.dir;
    if (dir === undefined) return Promise.resolve(false);
    this.#reloading ??= (async () => {
      try {
        const next = await readCredentials(dir, this.trustDomain, this.#options.service ?? this.#current.id.service);
        const now = this.#current;
        if (next.caPem === now.caPem && next.certPem === now.certPem && next.keyPem === now.keyPem) return false;
        this.#current = next;
        for (const listener of this.#listeners) listener(next);
        return true;
      } catch (err) {
        // Files being replaced one by one fail validation for a moment: keep the old set until they agree.
        if (err instanceof CredentialsError) this.#options.onReloadError?.(err);
        else throw err;
        return false;
      } finally {
        this.#reloading = undefined;
      }
    })();
    return this.#reloading;
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }
}

/**
 * Loads a workload's credentials (from `dir`, watched for rotation, or fixed `credentials`) and returns
 * its mutual-TLS state. Throws WeftOptionsError WEFT_ERR_SECURITY_OPTIONS for bad options, and
 * CredentialsError when the credentials cannot be used.
 */
export async function createWorkloadTls(options: WorkloadTlsOptions): Promise<WorkloadTls> {
  if (typeof options !== "object" || options === null) throw new WeftOptionsError(OPTIONS, "options must be an object");
  if (typeof options.trustDomain !== "string" || !isTrustDomain(options.trustDomain)) {
    throw new WeftOptionsError(OPTIONS, "options.trustDomain must be a SPIFFE trust domain such as \"weft.local\"");
  }
  if ((options.dir === undefined) === (options.credentials === undefined)) throw new WeftOptionsError(OPTIONS, "options: give exactly one of dir and credentials");
  const poll = options.pollIntervalMs ?? 1000;
  if (!Number.isInteger(poll) || poll < 10) throw new WeftOptionsError(OPTIONS, "options.pollIntervalMs must be an integer of at least 10");
  let initial = options.credentials;
  if (initial === undefined) initial = await readCredentials(options.dir!, options.trustDomain, options.service);
  else if (initial.id.trustDomain !== options.trustDomain || (options.service !== undefined && initial.id.service !== options.service)) {
    throw new CredentialsError(`the credentials are those of ${initial.id.uri}`);
  }
  return new FileWorkloadTls(options, initial);
}
