// Secrets never leave the process through logs, spans or error text: one place that knows which header
// names and field names carry credentials, and which shapes of text are credentials wherever they appear.

/** Request and response headers whose values are credentials. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-weft-end-user"]);

/** Field names whose values are never written: credentials a caller might pass along by mistake. */
const SECRET_FIELD = /pass(word|wd|phrase)?|secret|token|authorization|cookie|api[-_]?key|credential|session/i;

// Credentials by shape: an HTTP auth scheme's value, a JWT (three base64url parts, the first a JSON
// object), a header line naming a credential header, a key=value / "key": "value" pair with a secret key.
const SECRET_TEXT = [
  /\b(Bearer|Basic|Digest)\s+[\w.~+/=-]+/gi,
  /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g,
  /\b((?:proxy-)?authorization|set-cookie|cookie|x-weft-end-user)(\s*[:=]\s*)[^\r\n]+/gi,
  /(["']?[\w-]*(?:pass(?:word|wd|phrase)?|secret|token|api[-_]?key|session[-_]?id)[\w-]*["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}]+)/gi,
];

/** The text a redacted value is written as. */
export const REDACTED = "[redacted]";

/** `text` with every credential-shaped part replaced by "[redacted]". */
export function redactText(text: string): string {
  if (text.length === 0) return text;
  let out = text;
  out = out.replace(SECRET_TEXT[0], (_m, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(SECRET_TEXT[1], REDACTED);
  out = out.replace(SECRET_TEXT[2], (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`);
  out = out.replace(SECRET_TEXT[3], (_m, key: string) => `${key}${REDACTED}`);
  return out;
}

/** True for a header name whose value is a credential. */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase());
}

/** Headers as a plain object for a log line, credential headers' values written as "[redacted]". */
export function redactHeaders(headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: string) => (out[name] = isSecretHeader(name) ? REDACTED : redactText(value));
  if (headers instanceof Headers) headers.forEach((value, name) => put(name, value));
  else for (const [name, value] of Object.entries(headers)) if (value !== undefined) put(name, Array.isArray(value) ? value.join(", ") : String(value));
  return out;
}

const MAX_DEPTH = 6;

/**
 * A copy of `value` safe to write: fields named like credentials become "[redacted]", Headers become
 * {@link redactHeaders}, strings pass through {@link redactText}; nesting past a few levels is cut.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[nested]";
  if (value instanceof Headers) return redactHeaders(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  // Dates and other values with their own JSON form keep it (as JSON.stringify would write them).
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return redactValue((value as { toJSON(): unknown }).toJSON(), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_FIELD.test(key) ? REDACTED : redactValue(v, depth + 1);
  return out;
}
