// Option checks shared by the discovery factories: fail at construction, naming the field.

/** Throws unless `value` is an integer >= `min`. */
export function assertInt(value: unknown, field: string, min: number): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${field} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Throws unless `value` is a non-empty string. */
export function assertNonEmpty(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string`);
  }
}

/** Throws unless `value` is "host:port" with a port in 1..65535. */
export function assertAddress(value: unknown, field: string): asserts value is string {
  const m = typeof value === "string" ? /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value) : null;
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new TypeError(`${field} must be "host:port", got ${JSON.stringify(value)}`);
  }
}
