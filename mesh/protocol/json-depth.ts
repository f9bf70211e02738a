// A cheap scan of a JSON request body for its nesting depth, run before JSON.parse: a body of only
// brackets parses in time proportional to its depth on the main thread, so it is refused unparsed.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** Default deepest nesting of arrays and objects in a JSON request (protobuf's own recursion limit). */
export const DEFAULT_MAX_JSON_DEPTH = 100;

/**
 * True when `data` nests arrays and objects deeper than `maxDepth` outside strings. One pass over the
 * bytes (strings are skipped with indexOf); it does not validate the JSON, JSON.parse does that next.
 */
export function jsonDeeperThan(data: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const c = data[i];
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    } else if (c === QUOTE) {
      i = closingQuote(data, i + 1);
      if (i < 0) return false; // unterminated string: JSON.parse reports it
    }
  }
  return false;
}

/** Index of the quote that closes a string starting at `from`, or -1. */
function closingQuote(data: Uint8Array, from: number): number {
  for (let at = data.indexOf(QUOTE, from); at >= 0; at = data.indexOf(QUOTE, at + 1)) {
    let backslashes = 0;
    while (at - 1 - backslashes >= from && data[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}
