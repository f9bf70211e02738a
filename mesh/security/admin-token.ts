// An operator's shared secret for the AdminService where no workload certificates exist (the
// one-process shop): a call carrying the token in `weft-admin-token` passes; any other falls through to
// the next guard (workload identities). Compared in constant time.

import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/** The request header carrying the operator's admin token. */
export const ADMIN_TOKEN_HEADER = "weft-admin-token";

/** Shortest token accepted, in characters. */
const MIN_TOKEN_LENGTH = 16;

/** A guardAdmin accepting `token`, else deferring to `next` (else refusing Unauthenticated). */
export function createAdminTokenGuard(token: string, next?: (context: HandlerContext) => void): (context: HandlerContext) => void {
  if (typeof token !== "string" || token.length < MIN_TOKEN_LENGTH) throw new RangeError(`the admin token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const want = Buffer.from(token);
  return (context) => {
    const got = context.requestHeader.get(ADMIN_TOKEN_HEADER);
    if (got !== null) {
      const bytes = Buffer.from(got);
      if (bytes.length === want.length && timingSafeEqual(bytes, want)) return;
    }
    if (next !== undefined) return next(context);
    throw new ConnectError("admin API: an operator's admin token or workload certificate is required", Code.Unauthenticated);
  };
}
