// Option checks shared by every factory of the runtime: they fail at construction with a
// WeftOptionsError carrying the caller's code and a message that names the field.

import type { WeftOptionsErrorCode } from "./codes.ts";
import { WeftOptionsError } from "./weft-error.ts";

function range(min: number, max: number, unbounded: number): string {
  return max === unbounded ? `>= ${min}` : `between ${min} and ${max}`;
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertInt(
  code: WeftOptionsErrorCode, value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new WeftOptionsError(code, `${field} must be an integer ${range(min, max, Number.MAX_SAFE_INTEGER)}, got ${String(value)}`);
  }
}

/** Throws unless `value` is a finite number in [min, max]. */
export function assertNumber(
  code: WeftOptionsErrorCode, value: unknown, field: string, min: number, max = Number.POSITIVE_INFINITY,
): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new WeftOptionsError(code, `${field} must be a number ${range(min, max, Number.POSITIVE_INFINITY)}, got ${String(value)}`);
  }
}

/** Throws unless `value` is a boolean. */
export function assertBoolean(code: WeftOptionsErrorCode, value: unknown, field: string): asserts value is boolean {
  if (typeof value !== "boolean") throw new WeftOptionsError(code, `${field} must be a boolean, got ${String(value)}`);
}

/** Throws unless `value` is a non-empty string. */
export function assertNonEmpty(code: WeftOptionsErrorCode, value: unknown, field: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) throw new WeftOptionsError(code, `${field} must be a non-empty string`);
}

/** Throws unless `value` is a function. */
export function assertFunction(code: WeftOptionsErrorCode, value: unknown, field: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== "function") throw new WeftOptionsError(code, `${field} must be a function`);
}

/** Throws unless `value` is one of `allowed`. */
export function assertOneOf<T extends string>(
  code: WeftOptionsErrorCode, value: unknown, field: string, allowed: readonly T[],
): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new WeftOptionsError(code, `${field} must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}, got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is a non-null object (the options bag itself). */
export function assertObject(code: WeftOptionsErrorCode, value: unknown, field: string): asserts value is object {
  if (value === null || typeof value !== "object") throw new WeftOptionsError(code, `${field} must be an object`);
}
