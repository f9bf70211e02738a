// The error classes that carry a registry code. Two bases because an invalid option has always been a
// TypeError here (callers and tests check `instanceof TypeError`), while state and I/O failures are not.

import type { WeftErrorCode, WeftOptionsErrorCode } from "./codes.ts";

/** A start-up or usage error with a stable code from `WeftErrorCodes` (never sent to an RPC caller). */
export class WeftError extends Error {
  /** A stable code from `WeftErrorCodes`. */
  readonly code: WeftErrorCode;

  constructor(code: WeftErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An invalid option or argument, thrown at construction (or call) time; the message names the field. */
export class WeftOptionsError extends TypeError {
  /** A stable `*_OPTIONS` code from `WeftErrorCodes`. */
  readonly code: WeftOptionsErrorCode;

  constructor(code: WeftOptionsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** True for any error carrying a registry code (`WeftError` or `WeftOptionsError`). */
export function isWeftError(err: unknown): err is WeftError | WeftOptionsError {
  return err instanceof WeftError || err instanceof WeftOptionsError;
}

/** Invalid cache option (WEFT_ERR_CACHE_OPTIONS); kept as a named class for `instanceof` checks. */
export class CacheOptionsError extends WeftOptionsError {
  constructor(message: string, options?: ErrorOptions) {
    super("WEFT_ERR_CACHE_OPTIONS", message, options);
  }
}

/** Invalid event-bus option (WEFT_ERR_EVENTS_OPTIONS); kept as a named class for `instanceof` checks. */
export class EventsOptionsError extends WeftOptionsError {
  constructor(message: string, options?: ErrorOptions) {
    super("WEFT_ERR_EVENTS_OPTIONS", message, options);
  }
}

/** Invalid compute-pool option (WEFT_ERR_COMPUTE_OPTIONS); kept as a named class for `instanceof` checks. */
export class ComputeOptionsError extends WeftOptionsError {
  constructor(message: string, options?: ErrorOptions) {
    super("WEFT_ERR_COMPUTE_OPTIONS", message, options);
  }
}
