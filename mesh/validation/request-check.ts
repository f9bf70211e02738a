// One message's check against its contract's rules. This file loads protovalidate (its CEL interpreter
// and RE2 with it, ~80 modules): withValidation imports it on demand, never at a process's start.
import type { DescMessage } from "@bufbuild/protobuf";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { hasRules } from "./has-rules.ts";
import { violationsError } from "./violations-error.ts";

export { createValidator };

/** Validates one request message: returns when it is valid, throws INVALID_ARGUMENT with the violations otherwise. */
export type RequestCheck = (message: unknown) => void;

/** A check for `schema`'s rules, or undefined when neither it nor anything it contains declares any. */
export function requestCheck(schema: DescMessage, validator: Validator): RequestCheck | undefined {
  if (!hasRules(schema)) return undefined;
  return (message) => {
    const result = validator.validate(schema, message as never);
    if (result.kind === "valid") return;
    // A rule that cannot be compiled or evaluated is a server bug: the call gate answers INTERNAL and logs it.
    if (result.kind === "error") throw result.error;
    throw violationsError(result.violations);
  };
}
