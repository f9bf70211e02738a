// Start-up and usage errors of the host. RPC errors are ConnectErrors; these are thrown to the program
// that builds the host, never sent to a caller. The codes live in the runtime's one registry
// (mesh/errors/codes.ts); this map only gives them the short names the host's code and tests use.

import { WeftError } from "../errors/index.ts";

/** The host's error codes by short name (see `WeftErrorCodes` for their meaning). */
export const HostErrorCode = {
  /** An option passed to `createHost` is invalid; the message names the field. */
  options: "WEFT_ERR_HOST_OPTIONS",
  /** A method was called in the wrong state (e.g. `register` after `listen`, `listen` twice). */
  state: "WEFT_ERR_HOST_STATE",
  /** The same service was registered twice, or a name the host serves itself was registered. */
  duplicateService: "WEFT_ERR_HOST_DUPLICATE_SERVICE",
  /** The listener could not be opened (address in use, permission denied). */
  listen: "WEFT_ERR_HOST_LISTEN",
  /** A health status was set for a service the host does not serve. */
  unknownService: "WEFT_ERR_HOST_UNKNOWN_SERVICE",
} as const;

/** One of the host's error codes. */
export type HostErrorCode = (typeof HostErrorCode)[keyof typeof HostErrorCode];

/** An error thrown by the host to the code using it (never to an RPC caller). */
export class HostError extends WeftError {
  /** A stable code from `HostErrorCode`. */
  declare readonly code: HostErrorCode;

  constructor(code: HostErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
