// Request validation from the contracts: protovalidate rules declared in a service's .proto files
// (`(buf.validate.field)` options) enforced before its handlers run. Wrapping the implementation, not
// the wire, makes it hold on every transport a service is registered on (Connect, gRPC, gRPC-Web,
// Connect over NATS, in-process) with one check, and leaves methods whose input has no rules untouched.
import { hasExtension, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { field as fieldRules, message as messageRules, oneof as oneofRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { violationsError } from "./violations-error.ts";

/** Options of {@link withValidation}. */
export interface ValidationOptions {
  /**
   * The validator to use; share one between services to share its compiled rules. Default: a new
   * `createValidator()` (all violations reported, not only the first).
   */
  readonly validator?: Validator;
}

type AnyHandler = (input: unknown, context: HandlerContext) => unknown;

/** Validates one request message: returns when it is valid, throws INVALID_ARGUMENT with the violations otherwise. */
export type RequestCheck = (message: unknown) => void;

/** A check for `schema`'s rules, or undefined when neither it nor anything it contains declares any. */
export function requestCheck(schema: DescMessage, validator: Validator): RequestCheck | undefined {
  if (!hasRules(schema, new Set())) return undefined;
  return (message) => {
    const result = validator.validate(schema, message as never);
    if (result.kind === "valid") return;
    // A rule that cannot be compiled or evaluated is a server bug: the call gate answers INTERNAL and logs it.
    if (result.kind === "error") throw result.error;
    throw violationsError(result.violations);
  };
}

/** True when `schema` or a message it reaches through its fields carries buf.validate options. */
function hasRules(schema: DescMessage, seen: Set<string>): boolean {
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

async function* checkEach(check: RequestCheck, input: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const message of input) {
    check(message);
    yield message;
  }
}

function wrap(method: DescMethod, handler: AnyHandler, check: RequestCheck): AnyHandler {
  switch (method.methodKind) {
    case "unary":
    case "server_streaming":
      return (input, context) => {
        check(input);
        return handler(input, context);
      };
    default:
      // Client and bidi streams: each message is checked as the handler reads it.
      return (input, context) => handler(checkEach(check, input as AsyncIterable<unknown>), context);
  }
}

/**
 * Wraps a service implementation so that every request message is checked against the protovalidate
 * rules of its contract before the handler sees it; a message that breaks one is answered
 * INVALID_ARGUMENT with a buf.validate.Violations detail, and the handler never runs. Handlers keep
 * only the checks a rule cannot say (a blocklist, a lookup). Register what it returns.
 */
export function withValidation<S extends DescService>(service: S, impl: ServiceImpl<S>, options?: ValidationOptions): ServiceImpl<S>;
export function withValidation<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>, options?: ValidationOptions): Partial<ServiceImpl<S>>;
export function withValidation<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>, options: ValidationOptions = {}): Partial<ServiceImpl<S>> {
  const validator = options.validator ?? createValidator();
  const wrapped: Record<string, unknown> = { ...impl };
  for (const method of service.methods) {
    const handler = (impl as Record<string, unknown>)[method.localName];
    if (typeof handler !== "function") continue; // unimplemented stays unimplemented
    const check = requestCheck(method.input, validator);
    if (check === undefined) continue;
    wrapped[method.localName] = wrap(method, (handler as AnyHandler).bind(impl), check);
  }
  return wrapped as Partial<ServiceImpl<S>>;
}
