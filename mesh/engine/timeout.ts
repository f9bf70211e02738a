// Request timeouts: `grpc-timeout` (gRPC, gRPC-Web) and `connect-timeout-ms` (Connect).

import { Code, ConnectError } from "@connectrpc/connect";

const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * Parses a timeout header. Returns `undefined` when absent, the timeout in ms otherwise, or throws
 * INVALID_ARGUMENT for a malformed value or one above `maxTimeoutMs` (0 = no cap), as connect-es does.
 */
export function parseTimeoutHeader(value: string | string[] | undefined, grpc: boolean, maxTimeoutMs: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") value = value[0];
  let ms: number;
  if (grpc) {
    const unit = GRPC_UNIT_MS[value.charAt(value.length - 1)];
    const digits = value.slice(0, -1);
    if (unit === undefined || digits.length < 1 || digits.length > 8 || !/^\d+$/.test(digits)) {
      throw new ConnectError(`protocol error: invalid grpc timeout value: ${value}`, Code.InvalidArgument);
    }
    ms = Number(digits) * unit;
  } else {
    if (value.length < 1 || value.length > 10 || !/^\d+$/.test(value)) {
      throw new ConnectError(`protocol error: invalid connect timeout value: ${value}`, Code.InvalidArgument);
    }
    ms = Number(value);
  }
  if (maxTimeoutMs > 0 && ms > maxTimeoutMs) {
    throw new ConnectError(`timeout ${ms}ms must be <= ${maxTimeoutMs}`, Code.InvalidArgument);
  }
  return ms;
}

/** Formats a timeout for the `grpc-timeout` header (at most 8 digits, as the spec asks). */
export function formatGrpcTimeout(ms: number): string {
  ms = Math.max(0, Math.ceil(ms));
  if (ms < 1e8) return `${ms}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 1e8) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 60))}M`;
}
