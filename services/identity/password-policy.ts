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
 * Throws INVALID_ARGUMENT naming `password` unless it may be used for a new account: 8-128 characters,
 * not only blanks, and not on `blocklist` (compared lower-cased, after NFKC as the hash sees it).
 */
export function checkNewPassword(password: string, blocklist: ReadonlySet<string>): void {
  if (password === "") throw invalidArgument("password", "is required");
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw invalidArgument("password", `must be between ${MIN_PASSWORD_LENGTH} and ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (password.trim() === "") throw invalidArgument("password", "must not be only blanks");
  if (blocklist.has(password.normalize("NFKC").toLowerCase())) {
    throw invalidArgument("password", "is one of the most common passwords; choose another");
  }
}
