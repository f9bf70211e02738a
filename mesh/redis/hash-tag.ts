// Key names that work in Redis Cluster: a Lua script or a MULTI may only touch keys of one hash slot,
// and Redis Cluster hashes only the part of a key between the first `{` and the next `}` when there is one.

/**
 * `prefix` wrapped in a hash tag (`weft:inventory:` -> `{weft:inventory:}`), so every key built on it maps
 * to one slot and a script may touch several of them; a prefix that already holds a tag is kept as it is.
 */
export function slotPrefix(prefix: string): string {
  const open = prefix.indexOf("{");
  if (open !== -1 && prefix.indexOf("}", open + 1) > open + 1) return prefix;
  return `{${prefix}}`;
}
