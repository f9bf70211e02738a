import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { invalidArgument, ShopOptionsError } from "../shared/index.ts";

/** Least length of a page-token key, in bytes. */
export const MIN_PAGE_TOKEN_SECRET_BYTES = 32;
/** Bytes of the HMAC-SHA256 tag kept in a token (128 bits). */
const TAG_BYTES = 16;
/** Longest token accepted before any decoding work. */
const MAX_TOKEN_LENGTH = 256;

/** Issues and checks ListProducts page tokens. */
export interface PageTokens {
  /** A token for the listing of `category` continuing at `offset`. */
  encode(offset: number, category: string): string;
  /** The offset a token continues at; "" is 0. INVALID_ARGUMENT naming page_token for anything not issued here. */
  decode(token: string, category: string): number;
}

/**
 * Page tokens are `<base64url JSON of offset and category>.<HMAC-SHA256 tag>`: only offsets this service
 * issued are accepted, so a caller cannot page to arbitrary offsets (each a new cache entry), and a token
 * used with another category is rejected instead of silently paging the wrong listing. Replicas that
 * serve one listing must share the key.
 */
export function createPageTokens(secret: Uint8Array = new Uint8Array(randomBytes(MIN_PAGE_TOKEN_SECRET_BYTES))): PageTokens {
  if (!(secret instanceof Uint8Array) || secret.length < MIN_PAGE_TOKEN_SECRET_BYTES) {
    throw new ShopOptionsError(`options.pageTokenSecret must be at least ${MIN_PAGE_TOKEN_SECRET_BYTES} bytes`);
  }
  const key = Buffer.from(secret);
  const tag = (payload: string) => createHmac("sha256", key).update(payload).digest().subarray(0, TAG_BYTES);
  const notIssued = () => invalidArgument("page_token", "is not a token returned by this service");
  return {
    encode(offset, category) {
      const payload = Buffer.from(JSON.stringify({ o: offset, c: category })).toString("base64url");
      return `${payload}.${tag(payload).toString("base64url")}`;
    },
    decode(token, category) {
      if (token === "") return 0;
      const dot = token.indexOf(".");
      if (token.length > MAX_TOKEN_LENGTH || dot < 0) throw notIssued();
      const payload = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1), "base64url");
      if (given.length !== TAG_BYTES || !timingSafeEqual(given, tag(payload))) throw notIssued();
      const { o, c } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { o: number; c: string };
      if (c !== category) throw invalidArgument("page_token", "belongs to a different category");
      return o;
    },
  };
}

/** Reads a page-token key (base64url, 32+ bytes) from `value`; undefined or "" gives a random key. */
export function parsePageTokenSecret(value: string | undefined, name: string): { secret: Uint8Array; generated: boolean } {
  if (value === undefined || value === "") return { secret: new Uint8Array(randomBytes(MIN_PAGE_TOKEN_SECRET_BYTES)), generated: true };
  const secret = new Uint8Array(Buffer.from(value, "base64url"));
  if (secret.length < MIN_PAGE_TOKEN_SECRET_BYTES) throw new TypeError(`${name} must be base64url of at least ${MIN_PAGE_TOKEN_SECRET_BYTES} bytes`);
  return { secret, generated: false };
}
