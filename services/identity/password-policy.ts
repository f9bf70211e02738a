import { readFileSync } from "node:fs";
import { invalidArgument } from "../shared/index.ts";

/** Password length bounds (characters). */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/** The shipped list of common passwords (services/identity/common-passwords.txt). */
export const COMMON_PASSWORDS_URL = new URL("./common-passwords.txt", import.meta.url);

/** Reads a list of passwords, one a line (`#` starts a comment line), as a lower-cased set. */
export function loadPasswordBlocklist(url: URL = COMMON_PASSWORDS_URL): ReadonlySet<string> {
  const lines = readFileSync(url, "utf8").split("\n");
  return new Set(lines.filter((line) => line !== "" && !line.startsWith("#")).map((line) => line.toLowerCase()));
}

/**
 * Throws INVALID_ARGUMENT naming `password` when it is on `blocklist` (compared lower-cased, after NFKC
 * as the hash sees it). Its length (8-128) and "not only blanks" are the contract's rules
 * (proto/shop/identity/v1), checked before the handler runs.
 */
export function checkNewPassword(password: string, blocklist: ReadonlySet<string>): void {
  if (blocklist.has(password.normalize("NFKC").toLowerCase())) {
    throw invalidArgument("password", "is one of the most common passwords; choose another");
  }
}
