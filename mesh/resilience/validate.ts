// Option checks shared by the resilience factories: fail at construction, naming the field.

/** Throws unless `value` is a finite number in [min, max]. */
export function assertNumber(value: unknown, field: string, min: number, max = Number.POSITIVE_INFINITY): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
    throw new TypeError(`${field} must be a number ${range}, got ${String(value)}`);
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertInt(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new TypeError(`${field} must be an integer ${range}, got ${String(value)}`);
  }
}
