// Whether a message declares protovalidate rules, read from its descriptor's options alone: deciding
// which methods to check needs neither the validator nor its CEL interpreter loaded.
import { hasExtension, type DescMessage } from "@bufbuild/protobuf";
import { field as fieldRules, message as messageRules, oneof as oneofRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** True when `schema` or a message it reaches through its fields carries buf.validate options. */
export function hasRules(schema: DescMessage, seen = new Set<string>()): boolean {
  if (seen.has(schema.typeName)) return false;
  seen.add(schema.typeName);
  const options = schema.proto.options;
  if (options !== undefined && hasExtension(options, messageRules)) return true;
  for (const oneof of schema.oneofs) if (oneof.proto.options !== undefined && hasExtension(oneof.proto.options, oneofRules)) return true;
  for (const field of schema.fields) {
    if (field.proto.options !== undefined && hasExtension(field.proto.options, fieldRules)) return true;
    if (field.message !== undefined && hasRules(field.message, seen)) return true;
  }
  return false;
}
