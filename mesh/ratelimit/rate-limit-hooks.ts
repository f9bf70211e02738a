// Rate limits as a server call hook: each call's method is looked up in one table (bucket and cost),
// its key taken from the caller, and the shared limiter asked before the handler runs. When the shared
// store cannot decide, a method fails closed (UNAVAILABLE) or open to a limiter in this process.

import { Code, ConnectError } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import type { CallHookContext, ServerCallHooks } from "../engine/index.ts";
import { assertFunction, assertInt, assertObject, assertOneOf, WeftOptionsError } from "../errors/index.ts";
import { createLocalRateLimiter } from "./local-rate-limiter.ts";
import { assertBucket, type RateBucket, type RateLimiter } from "./rate-limiter.ts";
import { rateLimitedError } from "./retry-info.ts";

/** What a method costs, and what happens when the shared limiter cannot answer. */
export interface MethodRateLimit {
  /** The bucket (a key of `buckets`) the method draws from. */
  readonly bucket: string;
  /** Units one call takes (at most the bucket's burst). */
  readonly cost: number;
  /**
   * "closed": refuse with UNAVAILABLE while the shared limiter is down (sign-in: never unguarded);
   * "open": decide with the in-process limiter instead (reads keep working, limited per replica).
   */
  readonly whenUnavailable: "closed" | "open";
}

/** Options of {@link createRateLimitHooks}. */
export interface RateLimitHooksOptions {
  /** Buckets by name. Required. */
  readonly buckets: Readonly<Record<string, RateBucket>>;
  /** Limits by procedure ("/pkg.Service/Method"). Required. */
  readonly methods: Readonly<Record<string, MethodRateLimit>>;
  /** The limit of a procedure the table does not name; undefined = not limited. Default undefined. */
  readonly otherMethods?: MethodRateLimit;
  /** The shared limiter (createRedisRateLimiter), or undefined to decide in process only. Default undefined. */
  readonly limiter?: RateLimiter;
  /** The limiter used while the shared one fails, for "open" methods. Default: createLocalRateLimiter(). */
  readonly fallback?: RateLimiter;
  /**
   * Whose allowance a call spends: e.g. "user:<id>" when signed in, else "addr:<ip>". Return undefined
   * to leave the call unlimited. Required.
   */
  readonly keyOf: (context: CallHookContext) => string | undefined;
  /** Told about each refusal (count them). Default: nothing. */
  readonly onRefused?: (procedure: string, reason: "limited" | "unavailable") => void;
}

interface Admission {
  readonly procedure: string;
  readonly key: string;
  readonly rule: MethodRateLimit;
  readonly bucket: RateBucket;
}

function assertRule(rule: MethodRateLimit, field: string, buckets: Readonly<Record<string, RateBucket>>): void {
  assertObject("WEFT_ERR_RATELIMIT_OPTIONS", rule, field);
  const bucket = buckets[rule.bucket];
  if (bucket === undefined) throw new WeftOptionsError("WEFT_ERR_RATELIMIT_OPTIONS", `${field}.bucket names no bucket: ${String(rule.bucket)}`);
  assertInt("WEFT_ERR_RATELIMIT_OPTIONS", rule.cost, `${field}.cost`, 1, bucket.burst);
  assertOneOf("WEFT_ERR_RATELIMIT_OPTIONS", rule.whenUnavailable, `${field}.whenUnavailable`, ["closed", "open"]);
}

/** The rate-limit hooks; put them after authorization (a refused caller spends nothing) and before shedding. */
export function createRateLimitHooks(options: RateLimitHooksOptions): ServerCallHooks {
  assertObject("WEFT_ERR_RATELIMIT_OPTIONS", options?.buckets, "buckets");
  assertObject("WEFT_ERR_RATELIMIT_OPTIONS", options.methods, "methods");
  assertFunction("WEFT_ERR_RATELIMIT_OPTIONS", options.keyOf, "keyOf");
  const { buckets, methods, keyOf, onRefused } = options;
  for (const [name, bucket] of Object.entries(buckets)) assertBucket(bucket, `buckets.${name}`);
  for (const [procedure, rule] of Object.entries(methods)) assertRule(rule, `methods["${procedure}"]`, buckets);
  if (options.otherMethods !== undefined) assertRule(options.otherMethods, "otherMethods", buckets);
  const shared = options.limiter;
  const local = options.fallback ?? createLocalRateLimiter();
  const unavailable = new ConnectError("rate limit is unavailable: try again later", Code.Unavailable);

  const decide = async (a: Admission): Promise<void> => {
    let decision;
    try {
      decision = await (shared ?? local).take(a.key, a.rule.cost, a.bucket);
    } catch {
      if (a.rule.whenUnavailable === "closed") {
        onRefused?.(a.procedure, "unavailable");
        throw unavailable;
      }
      decision = await local.take(a.key, a.rule.cost, a.bucket);
    }
    if (!decision.allowed) {
      onRefused?.(a.procedure, "limited");
      throw rateLimitedError(decision.retryAfterMs);
    }
  };

  return {
    begin(service: DescService, context: CallHookContext): Admission | undefined {
      const procedure = `/${service.typeName}/${context.method.name}`;
      const rule = methods[procedure] ?? options.otherMethods;
      if (rule === undefined) return undefined;
      const key = keyOf(context);
      return key === undefined ? undefined : { procedure, key: `${rule.bucket}:${key}`, rule, bucket: buckets[rule.bucket] };
    },
    admit(token: unknown): Promise<void> | undefined {
      return token === undefined ? undefined : decide(token as Admission);
    },
  };
}
