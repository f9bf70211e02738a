import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Validation helpers shared by the shop's handlers. Every failure is INVALID_ARGUMENT with a message
 * that starts with the field's name (`items[2].quantity: must be between 1 and 1000`), so a caller
 * knows what to fix without reading the source.
 */

/** An INVALID_ARGUMENT error naming `field`. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

/** Returns `value` trimmed; throws when it is empty or longer than `maxLength` characters. */
export function requireText(value: string, field: string, maxLength: number): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw invalidArgument(field, "is required");
  if (trimmed.length > maxLength) throw invalidArgument(field, `must be at most ${maxLength} characters`);
  return trimmed;
}

/** Throws unless `value` is an integer within [min, max]. Works for int32 (number) and int64 (bigint). */
export function requireIntInRange<T extends number | bigint>(value: T, field: string, min: T, max: T): T {
  if (value < min || value > max) throw invalidArgument(field, `must be between ${min} and ${max}`);
  return value;
}

/** Throws unless `list` holds between `min` and `max` entries. */
export function requireCount(list: readonly unknown[], field: string, min: number, max: number): void {
  if (list.length < min) throw invalidArgument(field, min === 1 ? "must not be empty" : `needs at least ${min} entries`);
  if (list.length > max) throw invalidArgument(field, `must have at most ${max} entries`);
}

/** Resolves a page size: 0 means `defaultSize`; negative or above `maxSize` is INVALID_ARGUMENT. */
export function pageSizeOrDefault(value: number, field: string, defaultSize: number, maxSize: number): number {
  if (value === 0) return defaultSize;
  return requireIntInRange(value, field, 1, maxSize);
}
