// A strict structural comparison of two messages, stricter than protobuf-es's equals(): the same
// prototype, the same own keys in the same order, numbers by Object.is (NaN equals NaN, -0 differs
// from 0), bytes by class and content, unknown fields included. Returns where they first differ.

/** The path of the first difference between `a` and `b`, or undefined if they are the same. */
export function messageDiff(a: unknown, b: unknown, path = "$"): string | undefined {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  switch (typeof a) {
    case "number":
      return Object.is(a, b) ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
    case "object": {
      if (a === null || b === null) return a === b ? undefined : `${path}: null vs object`;
      if (a instanceof Uint8Array) {
        if (!(b instanceof Uint8Array) || a.constructor !== b.constructor) return `${path}: bytes class`;
        if (a.length !== b.length) return `${path}: ${a.length} bytes vs ${b.length}`;
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${path}[${i}]: ${a[i]} vs ${b[i]}`;
        return undefined;
      }
      if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
      if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototype`;
      const ka = Object.keys(a);
      const kb = Object.keys(b as object);
      if (ka.join("\u0000") !== kb.join("\u0000")) return `${path}: keys [${ka.join(",")}] vs [${kb.join(",")}]`;
      for (const k of ka) {
        const d = messageDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
        if (d !== undefined) return d;
      }
      return undefined;
    }
    default:
      return a === b ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
  }
}
