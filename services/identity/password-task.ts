/**
 * Worker task: scrypt password hashing. Runs on the compute pool (piscina threads, or inline), so it is
 * pure CPU: no I/O, no randomness (the caller brings the salt), no logging. Inputs and outputs are
 * structured-cloneable. Never log, trace or return the password.
 */
import { scryptSync, timingSafeEqual } from "node:crypto";

/** URL of this module, for `ComputePool.run(PASSWORD_TASK_URL, ...)`. */
export const PASSWORD_TASK_URL = import.meta.url;

/** Length of the derived key, in bytes. */
const KEY_LENGTH = 32;
/** scrypt block size and parallelism (the usual interactive-login settings). */
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

/** Input of {@link hashPassword}. */
export interface HashPasswordInput {
  readonly password: string;
  /** Random salt, at least 16 bytes. */
  readonly salt: Uint8Array;
  /** log2 of scrypt's N (cost); 14 means N = 16384. Between 10 and 20. */
  readonly costLog2: number;
}

/** Input of {@link verifyPassword}. */
export interface VerifyPasswordInput {
  readonly password: string;
  /** A string returned by {@link hashPassword}. */
  readonly encoded: string;
}

/**
 * Hashes a password. Returns `scrypt$<costLog2>$<r>$<p>$<salt b64url>$<key b64url>`, which carries its own
 * parameters so the cost can be raised later without breaking stored hashes.
 */
export function hashPassword({ password, salt, costLog2 }: HashPasswordInput): string {
  if (!Number.isInteger(costLog2) || costLog2 < 10 || costLog2 > 20) throw new RangeError("costLog2 must be an integer in [10, 20]");
  if (salt.length < 16) throw new RangeError("salt must be at least 16 bytes");
  const key = derive(password, salt, costLog2, BLOCK_SIZE, PARALLELISM);
  return ["scrypt", costLog2, BLOCK_SIZE, PARALLELISM, b64(salt), b64(key)].join("$");
}

/** True when `password` matches `encoded`; false for a wrong password or a malformed hash. Constant-time compare. */
export function verifyPassword({ password, encoded }: VerifyPasswordInput): boolean {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [costLog2, blockSize, parallelism] = parts.slice(1, 4).map(Number);
  if (![costLog2, blockSize, parallelism].every(Number.isInteger) || costLog2 < 10 || costLog2 > 20) return false;
  const salt = Buffer.from(parts[4], "base64url");
  const expected = Buffer.from(parts[5], "base64url");
  if (expected.length !== KEY_LENGTH) return false;
  const actual = derive(password, salt, costLog2, blockSize, parallelism);
  return timingSafeEqual(actual, expected);
}

function derive(password: string, salt: Uint8Array, costLog2: number, blockSize: number, parallelism: number): Buffer {
  const N = 2 ** costLog2;
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is too small above N = 2^15.
  const maxmem = 128 * N * blockSize + 1024 * 1024;
  return scryptSync(password.normalize("NFKC"), salt, KEY_LENGTH, { N, r: blockSize, p: parallelism, maxmem });
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}
