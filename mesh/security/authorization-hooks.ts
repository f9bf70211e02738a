// Authorization as server call hooks: every call is decided from the compiled policy table before
// interceptors and handler run (DENY rules first, then ALLOW, default deny). The caller's identity and
// end user go into context values for interceptors and handlers. Refusals never reach the handler.

import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import { requestHeaderValue, type ServerCallHooks } from "../engine/index.ts";
import { END_USER_HEADER, type EndUser, type EndUserVerifier } from "./end-user-credential.ts";
import type { AuthorizationTable, CompiledRule } from "./policy-compiler.ts";

/**
 * Context value: the caller's verified workload identity (SPIFFE URI), undefined when anonymous. Set
 * only with an end user (a call without one keeps its identity on the context: read it with peerIdentityOf).
 */
export const peerIdentityKey = createContextKey<string | undefined>(undefined, { description: "weft.peerIdentity" });
/** Context value: the verified end user of the call, undefined when the call carries none. */
export const endUserKey = createContextKey<EndUser | undefined>(undefined, { description: "weft.endUser" });

/** What a handler context carries from the transport (the host's engines and in-process transport). */
type WithPeer = HandlerContext & { readonly peerIdentity?: string };

/** The caller's verified identity as the transport saw it (a SPIFFE URI), undefined when anonymous. */
export function peerIdentityOf(ctx: HandlerContext): string | undefined {
  return ctx.values.get(peerIdentityKey) ?? (ctx as WithPeer).peerIdentity;
}

/** The call's verified end user, or UNAUTHENTICATED: handlers take the user from here, never from a request field. */
export function requireEndUser(ctx: HandlerContext): EndUser {
  const user = ctx.values.get(endUserKey);
  if (user === undefined) throw new ConnectError("this call must be made on behalf of a signed-in user", Code.Unauthenticated);
  return user;
}

/** One refusal, for metrics and logs. */
export interface Denial {
  /** "/pkg.Service/Method". */
  readonly procedure: string;
  /** The caller's identity, undefined when anonymous. */
  readonly peer: string | undefined;
  readonly code: Code.PermissionDenied | Code.Unauthenticated;
  /** Why, in a few words (never a credential). */
  readonly reason: string;
}

/** Options of {@link createAuthorizationHooks}. */
export interface AuthorizationOptions {
  /** The compiled policies. Required. */
  readonly table: AuthorizationTable;
  /** Verifies end-user credentials. Required. */
  readonly verifier: EndUserVerifier;
  /** Told about every refusal (count them in metrics). Default: nothing. */
  readonly onDenied?: (denial: Denial) => void;
}

/** The hooks, and the guard for the host's own AdminService (which hooks do not see). */
export interface Authorization {
  readonly hooks: ServerCallHooks;
  /** Refuses an AdminService call from anyone but a verified workload whose policy says `"admin": "read"`. */
  guardAdmin(ctx: HandlerContext): void;
  /** Refusals so far. */
  readonly denied: number;
}

const matches = (rule: CompiledRule, peer: string | undefined) => rule.anyone || (peer !== undefined && (rule.anyWorkload || rule.identities.has(peer)));

/** Builds the authorization hooks for a host serving any of the table's workloads. */
export function createAuthorization(options: AuthorizationOptions): Authorization {
  const { table, verifier } = options;
  let denied = 0;
  const refuse = (procedure: string, peer: string | undefined, code: Code.PermissionDenied | Code.Unauthenticated, reason: string): never => {
    denied++;
    options.onDenied?.({ procedure, peer, code, reason });
    throw new ConnectError(code === Code.Unauthenticated ? `${procedure}: ${reason}` : `${procedure}: ${peer ?? "anonymous caller"} is not allowed (${reason})`, code);
  };
  // "/pkg.Service/Method" by method, built once: the hook runs on every call.
  const procedures = new WeakMap<HandlerContext["method"], string>();
  const hooks: ServerCallHooks = {
    begin(service: DescService, context: HandlerContext) {
      let procedure = procedures.get(context.method);
      if (procedure === undefined) procedures.set(context.method, (procedure = `/${service.typeName}/${context.method.name}`));
      const peer = (context as WithPeer).peerIdentity;
      const rules = table.rules(procedure);
      if (rules === undefined) return refuse(procedure, peer, peer === undefined ? Code.Unauthenticated : Code.PermissionDenied, "no policy covers this method");
      // Indexed loops: for-of allocated an iterator per list on every call.
      const { deny, allow } = rules;
      for (let i = 0; i < deny.length; i++) if (matches(deny[i], peer)) refuse(procedure, peer, Code.PermissionDenied, "denied by policy");
      let endUserProblem: string | undefined;
      for (let i = 0; i < allow.length; i++) {
        const rule = allow[i];
        if (!matches(rule, peer)) continue;
        // The identity stays on the context (peerIdentityOf): setting a context value would create
        // the call's lazy ContextValues on every call.
        if (!rule.endUser) return undefined;
        const token = requestHeaderValue(context, END_USER_HEADER);
        if (token === undefined) {
          endUserProblem = "no end-user credential";
          continue;
        }
        const user = verifier.verify(token, peer!, rules.server.uri);
        if (typeof user === "string") {
          endUserProblem = `end-user credential refused: ${user}`;
          continue;
        }
        context.values.set(peerIdentityKey, peer);
        context.values.set(endUserKey, user);
        return undefined;
      }
      if (endUserProblem !== undefined) return refuse(procedure, peer, Code.Unauthenticated, endUserProblem);
      return refuse(procedure, peer, peer === undefined ? Code.Unauthenticated : Code.PermissionDenied, peer === undefined ? "authentication required" : "no policy allows this caller");
    },
  };
  return {
    hooks,
    guardAdmin(ctx) {
      const peer = (ctx as WithPeer).peerIdentity;
      const procedure = `/${ctx.service.typeName}/${ctx.method.name}`;
      if (peer === undefined) refuse(procedure, peer, Code.Unauthenticated, "authentication required");
      if (!table.adminReaders.has(peer!)) refuse(procedure, peer, Code.PermissionDenied, 'the admin API is for workloads whose policy says "admin": "read"');
    },
    get denied() {
      return denied;
    },
  };
}
