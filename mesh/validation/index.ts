// Public entry of mesh/validation: protovalidate rules from a service's contracts, enforced on every
// transport by wrapping its implementation (docs/security.md, "Validation"). Importing it does not load
// protovalidate: a wrapped service loads it at its first call (request-check.ts).

/** Wraps a service implementation so requests are checked against their contract's rules first. */
export { withValidation } from "./validated-service.ts";
/** protovalidate's createValidator and requestCheck (one message's check), loaded on demand. */
export { loadRequestCheck } from "./validated-service.ts";
/** Options of withValidation. */
export type { ValidationOptions } from "./validated-service.ts";
/** The per-message check withValidation builds (request-check.ts, which loads protovalidate). */
export type { RequestCheck } from "./request-check.ts";
