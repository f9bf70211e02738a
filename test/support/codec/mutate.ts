// Malformed and unusual inputs derived from valid ones: byte-level mutations of binary encodings, and
// JSON variants (other accepted spellings, wrong types, duplicate and unknown keys, bad base64, lone
// surrogates) of a message's JSON. Used to check that the compiled decoders accept and reject exactly
// what protobuf-es accepts and rejects.

import { protoSnakeCase } from "@bufbuild/protobuf/reflect";
import type { DescMessage } from "@bufbuild/protobuf";
import type { Rng } from "./rng.ts";

/** One random corruption of a binary encoding: truncation, bit flips, byte overwrites, insertions. */
export function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  const at = () => rng.int(0, Math.max(0, out.length - 1));
  switch (rng.int(0, 6)) {
    case 0:
      return new Uint8Array(out.slice(0, rng.int(0, out.length)));
    case 1:
      for (let i = rng.int(1, 3); i > 0 && out.length > 0; i--) out[at()] ^= 1 << rng.int(0, 7);
      break;
    case 2:
      if (out.length > 0) out[at()] = rng.pick([0x00, 0x80, 0xff, 0x7f, 0x07, 0x0f, 0x0c, 0x0b, rng.int(0, 255)]);
      break;
    case 3:
      out.splice(at(), 0, ...Array.from({ length: rng.int(1, 4) }, () => rng.pick([0x80, 0xff, 0x00, 0x08, 0x12, 0x1a, 0x0b, 0x0c, rng.int(0, 255)])));
      break;
    case 4:
      out.push(...Array.from({ length: rng.int(1, 12) }, () => rng.int(0, 255)));
      break;
    case 5: {
      const start = at();
      out.splice(start, 0, ...out.slice(start, start + rng.int(1, 8)));
      break;
    }
    default:
      out.splice(at(), rng.int(1, 3));
  }
  return new Uint8Array(out);
}

const NUMBER_VARIANTS = (n: number): unknown[] => [String(n), ` ${n}`, `${n} `, n + 0.5, -0, "-0", "1e2", "0x10", "", null, true, 1e21, 2 ** 53 + 2, 4294967296, -2147483649, "9223372036854775808", "-9223372036854775809", "18446744073709551616", "007", "1.0", "Infinity", "NaN", [], {}];
const STRING_VARIANTS: unknown[] = [null, 5, 0, "", "AAAA", "AA==", "AA=", "A", "QQ", "_-8", "-_", "a b", "AB=CD", "A===", "=", "\ud800", "\udfff x", true, {}, [], "NaN", "Infinity", "-Infinity", "1e500", "-1e500", "COLOR_RED", "COLOR_ALIAS", "CLOSED_A", "CLOSED_ED_X", "OPEN_ED_ONE", "SERVING", "unknown", "3.4028236e38", "1", "-1", "0"];
const BOOLEAN_VARIANTS: unknown[] = ["true", "false", 1, 0, null];
const ARRAY_VARIANTS: unknown[] = [null, {}, [null], [1, "a"], "x", [[]], [{}]];
const OBJECT_VARIANTS: unknown[] = [null, [], "x", {}, 5];

/** A replacement for a JSON value, of another type or another spelling. */
function variant(rng: Rng, value: unknown): unknown {
  if (typeof value === "number") return rng.pick(NUMBER_VARIANTS(value));
  if (typeof value === "string") return /^-?\d+$/.test(value) && rng.bool() ? rng.pick(NUMBER_VARIANTS(Number(value))) : rng.pick(STRING_VARIANTS);
  if (typeof value === "boolean") return rng.pick(BOOLEAN_VARIANTS);
  if (Array.isArray(value)) return rng.pick(ARRAY_VARIANTS);
  return rng.pick(OBJECT_VARIANTS);
}

/** Randomly rewrites a parsed JSON value in place-free style: values, keys (proto names), extra keys. */
function mutateValue(rng: Rng, value: unknown, rate: number): unknown {
  if (rng.bool(rate)) return variant(rng, value);
  if (Array.isArray(value)) return value.map((v) => mutateValue(rng, v, rate));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // A proto name instead of the JSON name (both are accepted), or now and then an odd key.
    const k = rng.bool(0.2) ? protoSnakeCase(key) : rng.bool(0.02) ? rng.pick(["unknownKey", "[ext.value]", "__proto__", key + "X"]) : key;
    Object.defineProperty(out, k, { value: mutateValue(rng, v, rate), enumerable: true, writable: true, configurable: true });
  }
  if (rng.bool(0.03)) out.extraUnknown = rng.pick([1, null, { a: 1 }, [1, 2]]);
  return out;
}

/** Text-level changes JSON.stringify cannot make: duplicate keys, escaped keys, whitespace. */
function mutateText(rng: Rng, text: string): string {
  switch (rng.int(0, 5)) {
    case 0: {
      // Duplicate the first member of some object.
      const open = [...text.matchAll(/\{"/g)].map((m) => m.index);
      if (open.length === 0) return text;
      const at = rng.pick(open) + 1;
      const end = text.indexOf(",", at);
      const close = text.indexOf("}", at);
      const stop = end !== -1 && end < close ? end : close;
      return stop === -1 ? text : text.slice(0, at) + text.slice(at, stop) + "," + text.slice(at);
    }
    case 1:
      // A key written with a unicode escape.
      return text.replace(/"([a-z])([A-Za-z0-9]*)":/, (_, c: string, rest: string) => `"\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}${rest}":`);
    case 2:
      return text.replace(/,/g, () => (rng.bool(0.3) ? " ,\n\t" : ","));
    default:
      return text;
  }
}

/** A variant of a JSON text: most are still valid JSON, many are not valid for the message. */
export function mutateJson(rng: Rng, text: string): string {
  const rate = rng.pick([0, 0.05, 0.15, 0.4]);
  const value = mutateValue(rng, JSON.parse(text), rate);
  return mutateText(rng, JSON.stringify(value));
}

/** Values of the wrong JavaScript type (or odd spellings) for any field. */
const WRONG_VALUES: readonly unknown[] = [undefined, null, "5", " 7", "abc", "", "NaN", "1e3", "0x10", 1.5, -0, 5, 2 ** 40, NaN, Infinity, 5n, -1n, true, false, {}, [], new Uint8Array([1]), { $typeName: "x.Y" }];

/**
 * Puts a value of the wrong type somewhere in a message (in place): a singular field, a oneof value,
 * a list item or the list itself, a map value or the map itself. protobuf-es's TypeScript types
 * forbid all of these; plain JavaScript callers can still do it.
 */
export function spoilMessage(rng: Rng, schema: DescMessage, message: Record<string, any>): void {
  if (schema.fields.length === 0) return;
  const field = rng.pick(schema.fields);
  const value = rng.pick(WRONG_VALUES);
  if (field.oneof) message[field.oneof.localName] = { case: field.localName, value };
  else if (field.fieldKind === "list" && rng.bool(0.8)) message[field.localName].push(value);
  else if (field.fieldKind === "map" && rng.bool(0.8)) message[field.localName][rng.pick(["1", "a", "true", "-5", "x y"])] = value;
  else message[field.localName] = value;
}
