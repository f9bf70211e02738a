// Subject names of the discovery protocol (see proto/weft/mesh/v1/registry.proto).

import { WeftOptionsError, type WeftOptionsErrorCode } from "../errors/index.ts";

/** The default subject prefix for discovery messages. */
export const DEFAULT_SUBJECT_PREFIX = "weft.registry";

/** The discovery subjects of one service (or, with the ">" wildcard, of every service). */
export interface ServiceSubjects {
  /** Full records (Announcement). */
  readonly announce: string;
  /** Compact heartbeats (Heartbeat). */
  readonly beat: string;
  /** Leaves (Leave). */
  readonly leave: string;
  /** Table queries answered by the service's instances (TableQuery -> Announcement). */
  readonly query: string;
}

/** The discovery subjects under a prefix. */
export interface RegistrySubjects {
  /** Subjects of `service` ("<prefix>.<kind>.<service>"). */
  service(service: string): ServiceSubjects;
  /** Wildcard subjects matching every service's announce, beat and leave (query: the mesh-wide one). */
  readonly all: ServiceSubjects;
  /** The mesh-wide query subject: every live instance answers. */
  readonly queryAll: string;
}

/** Builds the subjects for `prefix`. */
export function registrySubjects(prefix: string): RegistrySubjects {
  const of = (service: string): ServiceSubjects => ({
    announce: `${prefix}.announce.${service}`,
    beat: `${prefix}.beat.${service}`,
    leave: `${prefix}.leave.${service}`,
    query: `${prefix}.query.${service}`,
  });
  return { service: of, all: { ...of(">"), query: `${prefix}.query` }, queryAll: `${prefix}.query` };
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
