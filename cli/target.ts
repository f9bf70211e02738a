// Where the CLI finds the mesh and how it proves who it is: an instance URL (`--url`, WEFT_URL; the
// one-process shop), else NATS (`--nats`, NATS_URL) where discovery names every instance; mutual TLS
// with an operator's certificate folder (`--tls-dir`, WEFT_TLS_DIR), or the admin token of `npm start`
// (`--admin-token`, WEFT_ADMIN_TOKEN, else the file .weft/admin-token). On a broker with users (the
// launcher's --transport nats), the operator's NATS user (`--nats-nkey`, WEFT_NATS_NKEY_FILE).

import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AdminService } from "../gen/weft/mesh/v1/admin_pb.ts";
import { AnnouncementSchema, TableQuerySchema, type Announcement } from "../gen/weft/mesh/v1/registry_pb.ts";
import { ADMIN_TOKEN_HEADER } from "../mesh/security/admin-token.ts";
import { CREDENTIAL_FILES } from "../mesh/security/workload-credentials.ts";
import { readNatsAuthenticator } from "../mesh/security/nats-credentials.ts";
import { natsInboxPrefix } from "../mesh/security/nats-permissions.ts";
import { createWeftConnectTransport, createWeftGrpcTransport, createWeftGrpcWebTransport, type TransportTlsOptions, type WeftTransport } from "../mesh/transport/index.ts";
import { registrySubjects } from "../mesh/discovery/subjects.ts";
import { collectReplies } from "../mesh/ops/collect-replies.ts";

/** The CLI's exit codes (README "weft CLI"). */
export const EXIT = { ok: 0, callFailed: 1, usage: 2, unreachable: 3 } as const;

/** A failure the CLI reports as one line and an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Global options every verb takes. */
export interface TargetOptions {
  url?: string;
  nats?: string;
  "registry-prefix"?: string;
  "tls-dir"?: string;
  "nats-nkey"?: string;
  "admin-token"?: string;
  protocol?: string;
  instance?: string;
}

export type Protocol = "connect" | "grpc" | "grpc-web";

/** One reachable instance. */
export interface Instance {
  readonly instanceId: string;
  readonly url: string;
  readonly services: readonly string[];
}

/** An open connection to the mesh. */
export interface Target {
  /** How the mesh was found, for messages. */
  readonly describe: string;
  /** The admin API of one instance (the aggregator when over NATS). */
  readonly admin: Client<typeof AdminService>;
  /** Headers every call carries (the admin token). */
  readonly headers: Record<string, string>;
  /** Instances known (one with --url). */
  readonly instances: readonly Instance[];
  /** A transport to `instance` (or the first serving `service`). */
  transport(service: string | undefined, protocol: Protocol): Transport;
  /** The NATS connection, when the mesh was found through NATS (events tail). */
  readonly nc: NatsConnection | undefined;
  /** The operator's mutual TLS (https instances), undefined without --tls-dir. */
  readonly tls: TransportTlsOptions | undefined;
  close(): Promise<void>;
}

const DEFAULT_URL = "http://127.0.0.1:8080";

function tlsOptions(dir: string | undefined): TransportTlsOptions | undefined {
  if (dir === undefined || dir === "") return undefined;
  try {
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    // Any server whose chain ends in the mesh's CA is accepted: an operator talks to every workload.
    return { ca: read(CREDENTIAL_FILES.ca), cert: read(CREDENTIAL_FILES.cert), key: read(CREDENTIAL_FILES.key), checkServerIdentity: () => undefined };
  } catch (err) {
    throw new CliError(`--tls-dir ${dir}: cannot read the operator's certificate files (${(err as NodeJS.ErrnoException).code ?? String(err)}); npm run certs writes them under .certs/`, EXIT.usage);
  }
}

function adminToken(given: string | undefined): string | undefined {
  if (given !== undefined && given !== "") return given;
  if (process.env.WEFT_ADMIN_TOKEN) return process.env.WEFT_ADMIN_TOKEN;
  try {
    return readFileSync(resolve(".weft", "admin-token"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Parses --protocol. */
export function protocolOf(value: string | undefined, fallback: Protocol): Protocol {
  const p = value ?? fallback;
  if (p !== "connect" && p !== "grpc" && p !== "grpc-web") throw new CliError(`--protocol must be connect, grpc or grpc-web, got ${JSON.stringify(p)}`, EXIT.usage);
  return p;
}

/** Opens the mesh the options (and environment) point at. */
export async function openTarget(options: TargetOptions): Promise<Target> {
  const tls = tlsOptions(options["tls-dir"] ?? process.env.WEFT_TLS_DIR);
  const token = adminToken(options["admin-token"]);
  const headers: Record<string, string> = token === undefined ? {} : { [ADMIN_TOKEN_HEADER]: token };
  const transports: WeftTransport[] = [];
  const make = (baseUrl: string, protocol: Protocol): Transport => {
    const o = { baseUrl, tls, idleTimeoutMs: 5000 };
    const t = protocol === "grpc" ? createWeftGrpcTransport(o) : protocol === "grpc-web" ? createWeftGrpcWebTransport(o) : createWeftConnectTransport(o);
    transports.push(t);
    return t;
  };
  const closeTransports = async () => {
    for (const t of transports) t.close();
  };
  const natsUrl = options.nats ?? (options.url === undefined && !process.env.WEFT_URL ? process.env.NATS_URL : undefined);
  if (natsUrl === undefined || natsUrl === "") {
    const url = (options.url ?? process.env.WEFT_URL ?? DEFAULT_URL).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(`--url must be http://host:port or https://host:port, got ${JSON.stringify(url)}`, EXIT.usage);
    const admin = createClient(AdminService, make(url, "connect"));
    return {
      describe: url,
      admin,
      headers,
      instances: [{ instanceId: "", url, services: [] }],
      transport: (_service, protocol) => make(url, protocol),
      nc: undefined,
      tls,
      close: closeTransports,
    };
  }
  const nkeyFile = options["nats-nkey"] ?? process.env.WEFT_NATS_NKEY_FILE ?? "";
  let auth = {};
  if (nkeyFile !== "") {
    try {
      // The seed file is named for its workload (<certs>/nats/operator.nk): replies come to that workload's inbox.
      auth = { authenticator: await readNatsAuthenticator(nkeyFile), inboxPrefix: natsInboxPrefix(basename(nkeyFile).replace(/\.nk$/, "")) };
    } catch (err) {
      throw new CliError(`--nats-nkey ${nkeyFile}: cannot read the operator's NATS seed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.usage);
    }
  }
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: natsUrl.split(","), timeout: 3000, noAsyncTraces: true, name: "weft-cli", ...auth });
  } catch (err) {
    const refused = /authoriz|authentic/i.test(String((err as Error)?.message));
    throw new CliError(refused ? `NATS at ${natsUrl} refused this CLI: the mesh's broker has users; give the operator's seed (--nats-nkey <certs>/nats/operator.nk, WEFT_NATS_NKEY_FILE)` : `cannot reach NATS at ${natsUrl} (--nats / NATS_URL); is the mesh running?`, EXIT.unreachable);
  }
  const announcements = await queryInstances(nc, options["registry-prefix"] ?? process.env.WEFT_REGISTRY_PREFIX ?? "weft.registry");
  const listed = announcements.filter((a) => a.address !== "" && a.ready);
  // Under mutual TLS a public edge (the gateway) still serves plain HTTP: ask each port which it speaks.
  const secure = await Promise.all(listed.map((a) => (tls === undefined ? false : speaksTls(a.address, tls))));
  const instances = listed.map((a, i) => ({ instanceId: a.instanceId, url: `${secure[i] ? "https" : "http"}://${a.address}`, services: a.services }));
  if (instances.length === 0) {
    await nc.close();
    throw new CliError(`no instance answered on NATS ${natsUrl}: the mesh is empty or uses another registry prefix (--registry-prefix)`, EXIT.unreachable);
  }
  // The admin API's instance: one that speaks TLS when the operator has a certificate (an edge may not check it).
  const adminFirst = tls === undefined ? instances : [...instances.filter((i) => i.url.startsWith("https:")), ...instances.filter((i) => !i.url.startsWith("https:"))];
  const pick = (service: string | undefined): Instance => {
    const wanted = options.instance;
    const found = wanted !== undefined ? instances.find((i) => i.instanceId === wanted || i.instanceId.startsWith(wanted)) : service === undefined ? adminFirst[0] : instances.find((i) => i.services.includes(service));
    if (found === undefined) throw new CliError(wanted !== undefined ? `no instance ${wanted} (weft ls lists them)` : `no instance serves ${service}`, EXIT.usage);
    return found;
  };
  let first: Instance;
  try {
    first = pick(undefined);
  } catch (err) {
    await nc.close();
    throw err;
  }
  return {
    describe: `NATS ${natsUrl} (admin via ${first.instanceId} at ${first.url})`,
    admin: createClient(AdminService, make(first.url, "grpc")),
    headers,
    instances,
    transport: (service, protocol) => make(pick(service).url, protocol),
    nc,
    tls,
    close: async () => {
      await closeTransports();
      await nc.close();
    },
  };
}

/** How long the TLS probe of one instance may take, in milliseconds. */
const TLS_PROBE_TIMEOUT_MS = 3000;

/** True when `address` completes a TLS handshake (a plain-HTTP port, or no answer, is false). */
function speaksTls(address: string, tls: TransportTlsOptions): Promise<boolean> {
  const cut = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: address.slice(0, cut), port: Number(address.slice(cut + 1)), ca: tls.ca, cert: tls.cert, key: tls.key, checkServerIdentity: () => undefined, ALPNProtocols: ["h2", "http/1.1"] });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), TLS_PROBE_TIMEOUT_MS);
    socket.once("secureConnect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Every live instance's announcement (a discovery table query). */
async function queryInstances(nc: NatsConnection, prefix: string): Promise<Announcement[]> {
  const replies = await collectReplies(nc, registrySubjects(prefix).queryAll, toBinary(TableQuerySchema, create(TableQuerySchema, {})), { replyPrefix: `${prefix}.reply`, maxWaitMs: 500 });
  const out = new Map<string, Announcement>();
  for (const msg of replies) {
    try {
      const a = fromBinary(AnnouncementSchema, msg.data);
      out.set(a.instanceId, a);
    } catch {
      // not an announcement
    }
  }
  return [...out.values()].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

/** Maps a failed admin call to a CLI error (unreachable and unauthenticated get their own hints). */
export function adminFailure(err: unknown, target: Target): CliError {
  const e = ConnectError.from(err);
  // Without a certificate a mutual-TLS port closes the connection: the likeliest cause, said first.
  const tlsHint = target.tls === undefined && target.nc !== undefined ? "; a mesh under mutual TLS (npm run start:distributed) needs the operator's certificate folder: --tls-dir .certs/operator" : "";
  // A plain HTTP/2 stream to a TLS-only port ends as "stream canceled": the CLI itself cancels nothing here.
  if (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded || e.code === Code.Canceled) return new CliError(`cannot reach the mesh at ${target.describe}: ${e.rawMessage} (is it running? --url / WEFT_URL, --nats / NATS_URL${tlsHint})`, EXIT.unreachable);
  if (e.code === Code.PermissionDenied && target.tls !== undefined) return new CliError(`the admin API refused this CLI (PermissionDenied): the certificate in --tls-dir is not an operator's (its policy must say "admin": "read"; npm run certs writes .certs/operator)`, EXIT.unreachable);
  if (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied) return new CliError(`the admin API refused this CLI (${Code[e.code]}): give the operator token (--admin-token, WEFT_ADMIN_TOKEN, .weft/admin-token from npm start) or a certificate folder (--tls-dir .certs/operator)`, EXIT.unreachable);
  return new CliError(`admin API: ${Code[e.code]}: ${e.rawMessage}`, EXIT.callFailed);
}
