// How a refused request reaches the caller: INVALID_ARGUMENT, a message naming each field and rule, and
// the violations as a buf.validate.Violations error detail (field path, rule path, rule id, message),
// the form every protovalidate implementation answers with, so clients read it with ConnectError.findDetails.
import { Code, ConnectError } from "@connectrpc/connect";
import { violationsToProto, type Violation } from "@bufbuild/protovalidate";

/** Violations listed in the error message; the detail carries every one. */
const MAX_VIOLATIONS_IN_MESSAGE = 5;

/** The INVALID_ARGUMENT answer for a request that broke its contract's rules. */
export function violationsError(violations: readonly Violation[]): ConnectError {
  const shown = violations.slice(0, MAX_VIOLATIONS_IN_MESSAGE).map((v) => v.toString());
  if (violations.length > shown.length) shown.push(`and ${violations.length - shown.length} more`);
  const [proto, schema] = violationsToProto([...violations]);
  return new ConnectError(shown.join("; "), Code.InvalidArgument, undefined, [{ desc: schema, value: proto }]);
}
