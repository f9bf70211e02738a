// The "host:port" check shared by the announcer and static discovery.

import { WeftOptionsError } from "../errors/index.ts";

/** Throws WEFT_ERR_DISCOVERY_OPTIONS unless `value` is "host:port" with a port in 1..65535. */
export function assertAddress(value: unknown, field: string): asserts value is string {
  const m = typeof value === "string" ? /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value) : null;
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new WeftOptionsError("WEFT_ERR_DISCOVERY_OPTIONS", `${field} must be "host:port", got ${JSON.stringify(value)}`);
  }
}
