// The shop's security wiring: its policy files (services/<name>/policy.json) compiled against the
// shop's generated descriptors (a distributed process: its own only), the authorization hooks a host
// enforces, and the edge's end-user credentials. Used by `npm start` (one process, credentials issued in
// memory) and by each distributed process (credentials from its certificate folder).

import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { SHOP_SERVICES } from "./manifest.ts";
import {
  compilePolicies,
  createAuthorization,
  createEndUserSigner,
  createEndUserVerifier,
  END_USER_HEADER,
  readPolicyFiles,
  type Authorization,
  type AuthorizationTable,
  type Denial,
  type WorkloadCredentials,
} from "../mesh/security/index.ts";

/** The trust domain of the shop's identities unless configured. */
export const SHOP_TRUST_DOMAIN = "weft.local";

/** The operators' workload: serves nothing, reads every AdminService (the weft CLI's certificate). */
export const OPERATOR_WORKLOAD = "operator";

/** The policy file of every shop service in the manifest (services/<name>/policy.json), and the operators'. */
export function shopPolicyFiles(): string[] {
  return [...SHOP_SERVICES.map((s) => join(import.meta.dirname, s.name, "policy.json")), join(import.meta.dirname, "operator-policy.json")];
}

/** The workload a distributed process runs and the descriptors of what it serves. */
export interface ShopWorkload {
  /** Its name in the policies (services/<name>/policy.json). */
  readonly workload: string;
  /** The services it serves. */
  readonly services: readonly DescService[];
}

/**
 * Reads and compiles the shop's policies. Throws PolicyError (WEFT_ERR_SECURITY_POLICY) naming the entry.
 * With `serving`, only that workload's rules are compiled, against its own descriptors: a process does
 * not load every other service's generated code (the launcher and `npm test` check every policy).
 */
export async function loadShopPolicies(trustDomain = SHOP_TRUST_DOMAIN, serving?: ShopWorkload): Promise<AuthorizationTable> {
  const documents = await readPolicyFiles(shopPolicyFiles());
  if (serving !== undefined) return compilePolicies(documents, { trustDomain, services: serving.services, rulesOf: [serving.workload] });
  const { SHOP_DESCRIPTORS } = await import("./shop-descriptors.ts");
  return compilePolicies(documents, { trustDomain, services: SHOP_DESCRIPTORS });
}

/** Options of {@link createShopAuthorization}. */
export interface ShopAuthorizationOptions {
  readonly table: AuthorizationTable;
  /** The trust bundle end-user credentials must chain to (the current credentials' CAs). */
  readonly credentials: () => WorkloadCredentials;
  /** Told about each refusal. Default: nothing. */
  readonly onDenied?: (denial: Denial) => void;
}

/** The authorization hooks (and admin guard) for a host serving shop services. */
export function createShopAuthorization(options: ShopAuthorizationOptions): Authorization {
  const verifier = createEndUserVerifier(() => options.credentials().cas, options.table.trustDomain);
  return createAuthorization({ table: options.table, verifier, onDenied: options.onDenied });
}

/** Headers carrying the end user to the workload serving `service`, signed as the gateway. */
export type EndUserHeaders = (userId: string, service: DescService) => Record<string, string>;

/** The gateway's end-user credentials, signed with its current workload key for the serving workload. */
export function gatewayEndUserHeaders(table: AuthorizationTable, credentials: () => WorkloadCredentials): EndUserHeaders {
  const signer = createEndUserSigner(credentials);
  return (userId, service): Record<string, string> => {
    const audience = table.serverOf(service.typeName);
    // No policy serves it: send nothing, and the callee refuses the call.
    return audience === undefined ? {} : { [END_USER_HEADER]: signer.credential(userId, audience.uri) };
  };
}
