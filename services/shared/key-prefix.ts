// The key prefix every Redis-backed store of the shop takes (stock ledger, user directory, order book).

/** Throws unless `keyPrefix` is a non-empty string; every store's options take one. */
export function requireKeyPrefix(keyPrefix: unknown): string {
  if (typeof keyPrefix !== "string" || keyPrefix === "") {
    throw new TypeError('options.keyPrefix must be a non-empty string, e.g. "weft:inventory:"');
  }
  return keyPrefix;
}
