// Reads the buf.validate.Violations detail of an INVALID_ARGUMENT answer (mesh/validation) as
// [field path, rule id] pairs, e.g. ["items[0].quantity", "int32.gt_lte"], the way tests assert it.
import { ConnectError } from "@connectrpc/connect";
import { ViolationsSchema, type FieldPath } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** "items[0].quantity" from a violation's field path. */
export function fieldPathText(path: FieldPath | undefined): string {
  let out = "";
  for (const e of path?.elements ?? []) {
    out += out === "" ? e.fieldName : `.${e.fieldName}`;
    if (e.subscript.case !== undefined) out += `[${String(e.subscript.value)}]`;
  }
  return out;
}

/** Every violation in `err`'s details as [field path, rule id]; [] when it has none. */
export function violationsOf(err: unknown): Array<[string, string]> {
  const error = ConnectError.from(err);
  return error.findDetails(ViolationsSchema).flatMap((v) => v.violations.map((x): [string, string] => [fieldPathText(x.field), x.ruleId]));
}
