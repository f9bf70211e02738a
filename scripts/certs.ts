// `npm run certs`: development mTLS credentials for the shop. One CA (kept in <dir>/ca/) and, for every
// service of services/manifest.ts, an ECDSA P-256 leaf whose one URI SAN is
// spiffe://<trust domain>/svc/<service>, written as <dir>/<service>/{ca.crt,tls.crt,tls.key}: the
// layout the runtime watches and cert-manager's CSI driver or SPIRE's helper produce in production.
// Running it again reissues every leaf from the same CA (a rotation the running services pick up).
// It also keeps one NATS nkey user per service in <dir>/nats/<service>.nk (made once, kept) and writes
// <dir>/nats/nats-server.conf, a nats-server configuration whose users and subject permissions come
// from the policies (for running the services by hand; the launcher starts its own server).

import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SHOP_SERVICES } from "../services/manifest.ts";
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

const HELP = `Usage: npm run certs -- [--dir .certs] [--trust-domain weft.local] [--new-ca] [--validity-hours 24]
       [--nats-host 127.0.0.1] [--nats-port 4223] [--nats-store <dir>/nats/jetstream]

Writes a development CA (<dir>/ca/ca.crt, ca.key) and one leaf per shop service
(<dir>/<service>/ca.crt, tls.crt, tls.key). Run again to rotate the leaves (same CA);
--new-ca replaces the CA too. WEFT_CERTS_DIR and WEFT_TRUST_DOMAIN set the defaults.
Also one NATS nkey user per service (<dir>/nats/<service>.nk, kept once made) and
<dir>/nats/nats-server.conf: users and permissions from the policies, listening on
<--nats-host>:<--nats-port>, JetStream in <--nats-store> (nats-server -c <dir>/nats/nats-server.conf;
for deploy/compose.yaml: --nats-host 0.0.0.0 --nats-port 4222 --nats-store /data).`;

function fail(message: string): never {
  console.error(`WEFT_ERR_SECURITY_OPTIONS: ${message}`);
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    "trust-domain": { type: "string" },
    "new-ca": { type: "boolean", default: false },
    "validity-hours": { type: "string" },
    "nats-port": { type: "string" },
    "nats-host": { type: "string" },
    "nats-store": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const root = resolve(import.meta.dirname, "..");
const dir = resolve(values.dir ?? process.env.WEFT_CERTS_DIR ?? join(root, ".certs"));
const trustDomain = values["trust-domain"] ?? process.env.WEFT_TRUST_DOMAIN ?? "weft.local";
if (!isTrustDomain(trustDomain)) fail(`--trust-domain ${JSON.stringify(trustDomain)} is not a SPIFFE trust domain (lower-case letters, digits, dots, dashes)`);
const hours = Number(values["validity-hours"] ?? 24);
if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 366) fail("--validity-hours must be a positive number of hours (at most a year)");

const natsPort = Number(values["nats-port"] ?? 4223);
if (!Number.isInteger(natsPort) || natsPort < 1 || natsPort > 65535) fail("--nats-port must be a port number");

const services = SHOP_SERVICES.map((s) => s.name);

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
await writeFile(natsConfig, natsServerConfig({ table: await loadShopPolicies(trustDomain), users, host: values["nats-host"] ?? "127.0.0.1", port: natsPort, jetStreamDir: values["nats-store"] ?? join(natsDir, "jetstream") }), { mode: 0o600 });
console.log(`NATS users ${natsDir}/<service>.nk; server configuration ${natsConfig} (nats-server -c ${natsConfig})`);
