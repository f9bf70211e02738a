// The refusal of a rate-limited call: RESOURCE_EXHAUSTED with the standard google.rpc.RetryInfo detail,
// which gRPC and Connect clients read to know when to try again.

import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.ts";

/** RESOURCE_EXHAUSTED "rate limit exceeded", carrying `retryAfterMs` as a RetryInfo detail. */
export function rateLimitedError(retryAfterMs: number): ConnectError {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return new ConnectError(`rate limit exceeded: retry in ${(ms / 1000).toFixed(3)} s`, Code.ResourceExhausted, undefined, [
    { desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 } } },
  ]);
}

/** The retry delay in ms a refusal carries (its RetryInfo detail), or undefined when it has none. */
export function retryDelayMs(error: ConnectError): number | undefined {
  const [info] = error.findDetails(RetryInfoSchema);
  const delay = info?.retryDelay;
  return delay === undefined ? undefined : Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1_000_000);
}
