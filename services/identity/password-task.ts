/**
 * Worker task: password hashing. New hashes are Argon2id PHC strings (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`,
 * @node-rs/argon2); hashes made by earlier versions (`scrypt$...`) still verify, and the answer says
 * when a stored hash should be replaced. Runs on the compute pool (piscina threads, or inline), so it is
 * pure CPU: no I/O, no randomness (the caller brings the salt), no logging. Inputs and outputs are
 * structured-cloneable. Never log, trace or return the password.
 */
import { scryptSync, timingSafeEqual } from "node:crypto";
import { type Algorithm, hashSync, verifySync } from "@node-rs/argon2";
import { checkArgon2Params, type HashPasswordInput, OWASP_ARGON2ID, type VerifyPasswordInput, type VerifyPasswordResult } from "./password-params.ts";

export { checkArgon2Params, MIN_ARGON2_MEMORY_KIB, OWASP_ARGON2ID, PASSWORD_TASK_URL } from "./password-params.ts";
export type { Argon2Params, HashPasswordInput, VerifyPasswordInput, VerifyPasswordResult } from "./password-params.ts";

/** Argon2id's number in @node-rs/argon2 (its `Algorithm` is an ambient const enum, which type stripping cannot read). */
const ARGON2ID = 2 as Algorithm;

/** Hashes a password with Argon2id into a PHC string, which carries its own parameters and salt. */
export function hashPassword({ password, salt, params = OWASP_ARGON2ID }: HashPasswordInput): string {
  checkArgon2Params(params);
  if (salt.length < 16) throw new RangeError("salt must be at least 16 bytes");
  return hashSync(password.normalize("NFKC"), { algorithm: ARGON2ID, memoryCost: params.memoryKiB, timeCost: params.passes, parallelism: 1, salt });
}

/** Checks a password against a stored hash; a malformed hash is a mismatch. Constant-time compare in both schemes. */
export function verifyPassword({ password, encoded, params = OWASP_ARGON2ID }: VerifyPasswordInput): VerifyPasswordResult {
  const normalized = password.normalize("NFKC");
  if (encoded.startsWith("$argon2id$")) {
    let ok = false;
    try {
      ok = verifySync(encoded, normalized);
    } catch {
      return { ok: false, rehash: false };
    }
    return { ok, rehash: ok && !encoded.startsWith(`$argon2id$v=19$m=${params.memoryKiB},t=${params.passes},p=1$`) };
  }
  const ok = verifyScrypt(normalized, encoded);
  return { ok, rehash: ok };
}

/** Length of a legacy scrypt key, in bytes. */
const SCRYPT_KEY_LENGTH = 32;

/** Verifies a legacy `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<key b64url>` hash (earlier versions' format). */
function verifyScrypt(normalized: string, encoded: string): boolean {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [costLog2, blockSize, parallelism] = parts.slice(1, 4).map(Number);
  if (![costLog2, blockSize, parallelism].every(Number.isInteger) || costLog2 < 10 || costLog2 > 20 || blockSize < 1 || blockSize > 32 || parallelism !== 1) return false;
  const salt = Buffer.from(parts[4], "base64url");
  const expected = Buffer.from(parts[5], "base64url");
  if (expected.length !== SCRYPT_KEY_LENGTH) return false;
  const N = 2 ** costLog2;
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is too small above N = 2^15.
  const actual = scryptSync(normalized, salt, SCRYPT_KEY_LENGTH, { N, r: blockSize, p: parallelism, maxmem: 128 * N * blockSize + 1024 * 1024 });
  return timingSafeEqual(actual, expected);
}
