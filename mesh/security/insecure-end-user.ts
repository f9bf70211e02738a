// Development mode without mutual TLS: nothing is authenticated, so the end user travels as a plain
// header that is trusted as is. Only ever used when a process runs without credentials
// (MESH_TLS_DIR unset), which logs a warning at start-up; with credentials the header is ignored.

import type { HandlerContext } from "@connectrpc/connect";
import { requestHeaderValue, type ServerCallHooks } from "../engine/index.ts";
import { endUserKey } from "./authorization-hooks.ts";

/** The header carrying the end user's id when nothing is authenticated. */
export const INSECURE_END_USER_HEADER = "x-weft-insecure-end-user";

/** Headers naming `userId` in development mode. */
export function insecureEndUserHeaders(userId: string): Record<string, string> {
  return { [INSECURE_END_USER_HEADER]: userId };
}

const ISSUER = "insecure-development-mode";

/** Hooks that take the end user from the plain header (development mode only; HTTP and NATS servers alike). */
export function createInsecureEndUserHooks(): ServerCallHooks {
  return {
    begin(_service, context: HandlerContext) {
      // One header read, not the request's whole Headers, on every call.
      const userId = requestHeaderValue(context, INSECURE_END_USER_HEADER);
      if (userId !== undefined && userId !== "") context.values.set(endUserKey, { userId, issuer: ISSUER });
      return undefined;
    },
  };
}
