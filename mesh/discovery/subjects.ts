// Subject names of the discovery protocol (see proto/weft/mesh/v1/registry.proto).

import { WeftOptionsError, type WeftOptionsErrorCode } from "../errors/index.ts";

/** The default subject prefix for discovery messages. */
export const DEFAULT_SUBJECT_PREFIX = "weft.registry";

/** The three discovery subjects under a prefix. */
export interface RegistrySubjects {
  readonly announce: string;
  readonly leave: string;
  readonly query: string;
}

/** Builds the subjects for `prefix`. */
export function registrySubjects(prefix: string): RegistrySubjects {
  return { announce: `${prefix}.announce`, leave: `${prefix}.leave`, query: `${prefix}.query` };
}

const subjectToken = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Throws a WeftOptionsError with `code` (default WEFT_ERR_DISCOVERY_OPTIONS) when `value` is not a valid
 * literal NATS subject (no wildcards, no empty tokens).
 */
export function assertSubject(
  value: unknown, field: string, code: WeftOptionsErrorCode = "WEFT_ERR_DISCOVERY_OPTIONS",
): asserts value is string {
  if (typeof value !== "string" || !subjectToken.test(value)) {
    throw new WeftOptionsError(code, `${field} must be a NATS subject of dot-separated [A-Za-z0-9_-] tokens, got ${JSON.stringify(value)}`);
  }
}
