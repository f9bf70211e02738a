import { parseSigningKeys, type SigningKeys } from "./identity/index.ts";
import type { BlockList } from "node:net";
import { readGatewayRateLimitsSetting, readTrustedProxies } from "./gateway/index.ts";
import { ShopConfigError, WEFT_ERR_SHOP_CONFIG } from "./shared/index.ts";

/** Configuration of `npm start`, read from the environment in one place. */
export interface StartConfig {
  /** `HOST`: address to bind. Default "127.0.0.1". */
  readonly hostname: string;
  /** `PORT`: the shop's port (every service, every protocol). Default 8080; 0 picks a free one. */
  readonly port: number;
  /** `WEB`: serve the storefront page on the shop's own port ("on", default) or not ("off"). */
  readonly web: boolean;
  /** `GATEWAY_RATE_LIMITS`: the gateway's per-caller rate limits ("on", default) or none ("off"). */
  readonly rateLimits: boolean;
  /** `GATEWAY_TRUSTED_PROXIES`: proxies whose X-Forwarded-For names the client (client-address.ts). Default none. */
  readonly trustedProxies: BlockList | undefined;
  /** `CORS_ORIGINS`: extra origins (comma-separated) allowed to call the API from a browser. Default none. */
  readonly corsOrigins: readonly string[];
  /** `IDENTITY_SIGNING_KEYS`: a JWKS of ES256 private keys (read by {@link readSigningKeys}). Default unset: one key per process. */
  readonly signingKeys: string | undefined;
  /** `COMPUTE`: where password hashing runs: "piscina" (worker threads, default) or "inline" (this thread). */
  readonly compute: "piscina" | "inline";
  /** `WEFT_ADMIN_TOKEN`: the operators' token for the admin API (16+ characters). Default: random per process, written to `.weft/admin-token`. */
  readonly adminToken: string | undefined;
  /** `DATABASE_URL`: PostgreSQL for orders and their outbox. Default unset: PGlite in this process. */
  readonly databaseUrl: string | undefined;
  /** `ORDERS_DATA_DIR`: where PGlite keeps orders. Default unset: in memory (gone at exit). */
  readonly ordersDataDir: string | undefined;
}

export { ShopConfigError, WEFT_ERR_SHOP_CONFIG };

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) throw new ShopConfigError(`${name} is ${JSON.stringify(raw)}, set ${name} to a port number from 0 to 65535 (0 picks a free port)`);
  return value;
}

/** True for a bare origin ("https://shop.example", no path or trailing slash), as the host's CORS check wants. */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

/** Reads and checks the environment; throws ShopConfigError naming the bad variable. */
export function readStartConfig(env: NodeJS.ProcessEnv): StartConfig {
  const mainPort = port(env, "PORT", 8080);
  // The page used to have a port of its own; a stale setting is refused rather than silently ignored.
  if (env.WEB_PORT !== undefined && env.WEB_PORT !== "") {
    throw new ShopConfigError(`WEB_PORT is no longer used: the storefront page is served on PORT; set WEB=off to disable it`);
  }
  const webSetting = env.WEB === undefined || env.WEB === "" ? "on" : env.WEB;
  if (webSetting !== "on" && webSetting !== "off") throw new ShopConfigError(`WEB is ${JSON.stringify(webSetting)}, set WEB to "on" or "off"`);
  const hostname = env.HOST?.trim() || "127.0.0.1";
  const corsOrigins = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
  // Checked here so the error names the variable; the host would name only its option.
  for (const origin of corsOrigins) {
    if (origin === "*") continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin) {
      throw new ShopConfigError(`CORS_ORIGINS holds ${JSON.stringify(origin)}, which is not an origin, set CORS_ORIGINS to comma-separated origins such as https://shop.example (or "*")`);
    }
  }
  if (env.IDENTITY_TOKEN_SECRET !== undefined && env.IDENTITY_TOKEN_SECRET !== "") {
    throw new ShopConfigError("IDENTITY_TOKEN_SECRET is no longer used: access tokens are signed with ES256 keys, set IDENTITY_SIGNING_KEYS instead (npm run --silent keys:signing)");
  }
  const compute = env.COMPUTE === undefined || env.COMPUTE === "" ? "piscina" : env.COMPUTE;
  if (compute !== "piscina" && compute !== "inline") throw new ShopConfigError(`COMPUTE is ${JSON.stringify(compute)}, set COMPUTE to "piscina" or "inline"`);
  const adminToken = env.WEFT_ADMIN_TOKEN === undefined || env.WEFT_ADMIN_TOKEN === "" ? undefined : env.WEFT_ADMIN_TOKEN;
  if (adminToken !== undefined && adminToken.length < 16) throw new ShopConfigError("WEFT_ADMIN_TOKEN is shorter than 16 characters, set WEFT_ADMIN_TOKEN to 16 or more (or unset it, for a random one in .weft/admin-token)");
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  const ordersDataDir = env.ORDERS_DATA_DIR?.trim() || undefined;
  const rateLimits = readGatewayRateLimitsSetting(env);
  if (rateLimits === undefined) throw new ShopConfigError(`GATEWAY_RATE_LIMITS is ${JSON.stringify(env.GATEWAY_RATE_LIMITS)}, set GATEWAY_RATE_LIMITS to "on" or "off"`);
  let trustedProxies: BlockList | undefined;
  try {
    trustedProxies = readTrustedProxies(env.GATEWAY_TRUSTED_PROXIES);
  } catch (err) {
    throw new ShopConfigError(`${(err as Error).message}, or unset it`);
  }
  return { hostname, port: mainPort, web: webSetting === "on", rateLimits, trustedProxies, corsOrigins, signingKeys: env.IDENTITY_SIGNING_KEYS, compute, adminToken, databaseUrl, ordersDataDir };
}

/** Reads `IDENTITY_SIGNING_KEYS` (see parseSigningKeys); a bad value is a ShopConfigError naming it. */
export async function readSigningKeys(value: string | undefined): Promise<{ keys: SigningKeys; generated: boolean }> {
  try {
    return await parseSigningKeys(value);
  } catch (err) {
    throw new ShopConfigError((err as Error).message);
  }
}

/** The commands `npm start` prints for a newcomer to paste; each one is run by test/shop. */
export function exampleCommands(url: string): Array<{ title: string; command: string }> {
  const browse = `'{"query":"oak kettle","pageSize":3}'`;
  return [
    {
      title: "Connect JSON over HTTP/1.1 (browse the catalogue)",
      command: `curl -sS -X POST ${url}/shop.gateway.v1.GatewayService/Browse -H 'Content-Type: application/json' -d ${browse}`,
    },
    {
      title: "gRPC over HTTP/2, schema from server reflection",
      command: `npx buf curl --protocol grpc --http2-prior-knowledge --reflect -d ${browse} ${url}/shop.gateway.v1.GatewayService/Browse`,
    },
    {
      title: "health check (grpc.health.v1, Connect JSON)",
      command: `curl -sS -X POST ${url}/grpc.health.v1.Health/Check -H 'Content-Type: application/json' -d '{}'`,
    },
  ];
}
