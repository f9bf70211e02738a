// Public entry of mesh/validation: protovalidate rules from a service's contracts, enforced on every
// transport by wrapping its implementation (docs/security.md, "Validation").

/** Wraps a service implementation so requests are checked against their contract's rules first. */
export { requestCheck, withValidation } from "./validated-service.ts";
/** Options of withValidation, and the per-message check it builds. */
export type { RequestCheck, ValidationOptions } from "./validated-service.ts";
/** The INVALID_ARGUMENT error with a buf.validate.Violations detail. */
export { violationsError } from "./violations-error.ts";
