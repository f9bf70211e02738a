// `npm run certs`: development mTLS credentials for the shop. One CA (kept in <dir>/ca/) and, for every
// service of services/manifest.ts, an ECDSA P-256 leaf whose one URI SAN is
// spiffe://<trust domain>/svc/<service>, written as <dir>/<service>/{ca.crt,tls.crt,tls.key}: the
// layout the runtime watches and cert-manager's CSI driver or SPIRE's helper produce in production.
// Running it again reissues every leaf from the same CA (a rotation the running services pick up).
// The operators' identity (spiffe://<trust domain>/svc/operator, services/operator-policy.json) gets a
// folder too, <dir>/operator/: what `weft --tls-dir` and `weft dash --tls-dir` present.
// It also keeps one NATS nkey user per service in <dir>/nats/<service>.nk (made once, kept) and writes
// <dir>/nats/nats-server.conf, a nats-server configuration whose users and subject permissions come
// from the policies (for running the services by hand; the launcher starts its own server).

import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readCommandLine } from "../mesh/errors/index.ts";
import { loadShopPolicies } from "../services/shop-security.ts";
import {
  CA_KEY_FILE,
  CREDENTIAL_FILES,
  isTrustDomain,
  issueDevelopmentCredentials,
  natsServerConfig,
  writeCertificateAuthority,
  writeCredentials,
  writeNatsCredentials,
} from "../mesh/security/index.ts";

function fail(message: string): never {
  console.error(`WEFT_ERR_SECURITY_OPTIONS: ${message}`);
  process.exit(1);
}

const { values } = readCommandLine({
  usage: "npm run certs -- [flags]   (node scripts/certs.ts)",
  summary: `Writes a development CA (<dir>/ca/ca.crt, ca.key) and one leaf per shop service
(<dir>/<service>/ca.crt, tls.crt, tls.key). Run again to rotate the leaves (same CA).
Also one NATS nkey user per service (<dir>/nats/<service>.nk, kept once made) and
<dir>/nats/nats-server.conf: users and permissions from the policies (nats-server -c
<dir>/nats/nats-server.conf; for deploy/compose.yaml: --nats-host 0.0.0.0 --nats-port 4222 --nats-store /data).`,
  flags: {
    dir: { type: "string", valueName: "DIR", defaultText: ".certs (WEFT_CERTS_DIR)", description: "where the credentials go" },
    "trust-domain": { type: "string", valueName: "DOMAIN", defaultText: "weft.local (WEFT_TRUST_DOMAIN)", description: "SPIFFE trust domain of the identities" },
    "new-ca": { type: "boolean", default: false, description: "replace the CA too" },
    "validity-hours": { type: "string", valueName: "H", defaultText: "24", description: "lifetime of each leaf (at most a year)" },
    "nats-host": { type: "string", valueName: "HOST", defaultText: "127.0.0.1", description: "address in nats-server.conf" },
    "nats-port": { type: "string", valueName: "PORT", defaultText: "4223", description: "port in nats-server.conf" },
    "nats-store": { type: "string", valueName: "DIR", defaultText: "<dir>/nats/jetstream", description: "JetStream store in nats-server.conf" },
  },
  env: [
    { name: "WEFT_CERTS_DIR", defaultText: ".certs/", description: "default of --dir" },
    { name: "WEFT_TRUST_DOMAIN", defaultText: "weft.local", description: "default of --trust-domain" },
  ],
});
const root = resolve(import.meta.dirname, "..");
const dir = resolve(values.dir ?? process.env.WEFT_CERTS_DIR ?? join(root, ".certs"));
const trustDomain = values["trust-domain"] ?? process.env.WEFT_TRUST_DOMAIN ?? "weft.local";
if (!isTrustDomain(trustDomain)) fail(`--trust-domain ${JSON.stringify(trustDomain)} is not a SPIFFE trust domain (lower-case letters, digits, dots, dashes)`);
const hours = Number(values["validity-hours"] ?? 24);
if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 366) fail("--validity-hours must be a positive number of hours (at most a year)");

const natsPort = Number(values["nats-port"] ?? 4223);
if (!Number.isInteger(natsPort) || natsPort < 1 || natsPort > 65535) fail("--nats-port must be a port number");

// Every workload of the policies: the shop's services and the operators.
const table = await loadShopPolicies(trustDomain);
const services = [...table.workloads.keys()];

const caDir = join(dir, "ca");
const caCert = join(caDir, CREDENTIAL_FILES.ca);
const caKey = join(caDir, CA_KEY_FILE);
const existing = !values["new-ca"] && existsSync(caCert) && existsSync(caKey) ? { certPem: readFileSync(caCert, "utf8"), keyPem: readFileSync(caKey, "utf8") } : undefined;
const issued = issueDevelopmentCredentials({ trustDomain, services, ca: existing, leafValidityMs: hours * 3_600_000 });
if (existing === undefined) await writeCertificateAuthority(caDir, issued.ca);
for (const [service, credentials] of issued.workloads) await writeCredentials(join(dir, service), credentials);

console.log(`${existing === undefined ? "new CA" : "existing CA"} ${caCert}`);
for (const [service, { id, leaf }] of issued.workloads) console.log(`  ${id.uri}  ${join(dir, service)}/  valid to ${leaf.validTo}`);

const natsDir = join(dir, "nats");
const users = await writeNatsCredentials(natsDir, services);
const natsConfig = join(natsDir, "nats-server.conf");
await writeFile(natsConfig, natsServerConfig({ table, users, host: values["nats-host"] ?? "127.0.0.1", port: natsPort, jetStreamDir: values["nats-store"] ?? join(natsDir, "jetstream") }), { mode: 0o600 });
console.log(`NATS users ${natsDir}/<service>.nk; server configuration ${natsConfig} (nats-server -c ${natsConfig})`);
