// Request validation from the contracts: protovalidate rules declared in a service's .proto files
// (`(buf.validate.field)` options) enforced before its handlers run. Wrapping the implementation, not
// the wire, makes it hold on every transport a service is registered on (Connect, gRPC, gRPC-Web,
// Connect over NATS, in-process) with one check, and leaves methods whose input has no rules untouched.
// The validator (protovalidate, its CEL interpreter and RE2) loads at the first call that needs it, not
// at a process's start, where it took a sixth of the time; that call waits for it, so no request reaches
// a handler unchecked.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { Validator } from "@bufbuild/protovalidate";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { hasRules } from "./has-rules.ts";
import type { RequestCheck } from "./request-check.ts";

/** Options of {@link withValidation}. */
export interface ValidationOptions {
  /**
   * The validator to use; share one between services to share its compiled rules. Default: a new
   * `createValidator()` (all violations reported, not only the first).
   */
  readonly validator?: Validator;
}

/** Loads protovalidate and the request check built on it (request-check.ts); withValidation does at its first call. */
export function loadRequestCheck(): Promise<typeof import("./request-check.ts")> {
  return import("./request-check.ts");
}

type AnyHandler = (input: unknown, context: HandlerContext) => unknown;

/** A method's check: at hand once the validator is loaded; `loaded()` loads it. */
interface PendingCheck {
  now(): RequestCheck | undefined;
  loaded(): Promise<RequestCheck>;
}

async function* checkEach(check: PendingCheck, input: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const message of input) {
    (check.now() ?? (await check.loaded()))(message);
    yield message;
  }
}

async function* checkThenStream(check: PendingCheck, handler: AnyHandler, input: unknown, context: HandlerContext): AsyncGenerator<unknown> {
  (await check.loaded())(input);
  yield* handler(input, context) as AsyncIterable<unknown>;
}

function wrap(method: DescMethod, handler: AnyHandler, check: PendingCheck): AnyHandler {
  switch (method.methodKind) {
    case "unary":
      return (input, context) => {
        const now = check.now();
        if (now === undefined) return check.loaded().then((loaded) => (loaded(input), handler(input, context)));
        now(input);
        return handler(input, context);
      };
    case "server_streaming":
      return (input, context) => {
        const now = check.now();
        if (now === undefined) return checkThenStream(check, handler, input, context);
        now(input);
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
  const wrapped: Record<string, unknown> = { ...impl };
  const handlerOf = (method: DescMethod) => (impl as Record<string, unknown>)[method.localName];
  // Unimplemented stays unimplemented; a method whose input has no rules is left as it was.
  const ruled = service.methods.filter((method) => typeof handlerOf(method) === "function" && hasRules(method.input));
  if (ruled.length === 0) return wrapped as Partial<ServiceImpl<S>>;
  const checks = new Map<string, RequestCheck>();
  // One load for every method; a failed one fails the calls waiting for it, and the next call tries again.
  let loading: Promise<void> | undefined;
  const load = () =>
    (loading ??= loadRequestCheck().then(
      ({ createValidator, requestCheck }) => {
        const validator = options.validator ?? createValidator();
        for (const method of ruled) checks.set(method.localName, requestCheck(method.input, validator)!);
      },
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    ));
  for (const method of ruled) {
    const check: PendingCheck = { now: () => checks.get(method.localName), loaded: () => load().then(() => checks.get(method.localName)!) };
    wrapped[method.localName] = wrap(method, (handlerOf(method) as AnyHandler).bind(impl), check);
  }
  return wrapped as Partial<ServiceImpl<S>>;
}
