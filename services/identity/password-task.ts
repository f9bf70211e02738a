/**
 * Worker task: password hashing. New hashes are Argon2id PHC strings (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`,
 * @node-rs/argon2); hashes made by earlier versions (`scrypt$...`) still verify, and the answer says
 * when a stored hash should be replaced. Runs on the compute pool (piscina threads, or inline), so it is
 * pure CPU: no I/O, no randomness (the caller brings the salt), no logging. Inputs and outputs are
 * structured-cloneable. Never log, trace or return the password.
 */
import { scryptSync, timingSafeEqual } from "node:crypto";
import { type Algorithm, hashSync, verifySync } from "@node-rs/argon2";

/** URL of this module, for `ComputePool.run(PASSWORD_TASK_URL, ...)`. */
export const PASSWORD_TASK_URL = import.meta.url;

/** Argon2id's number in @node-rs/argon2 (its `Algorithm` is an ambient const enum, which type stripping cannot read). */
const ARGON2ID = 2 as Algorithm;

/** Argon2id cost: memory in KiB and passes. OWASP's password storage minimum is 19 MiB, 2 passes, 1 lane. */
export interface Argon2Params {
  readonly memoryKiB: number;
  readonly passes: number;
}

/** OWASP Password Storage Cheat Sheet (2023): m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2ID: Argon2Params = Object.freeze({ memoryKiB: 19 * 1024, passes: 2 });

/** Smallest memory cost accepted, in KiB (tests lower the cost; production never goes under OWASP's). */
export const MIN_ARGON2_MEMORY_KIB = 1024;

/** Input of {@link hashPassword}. */
export interface HashPasswordInput {
  readonly password: string;
  /** Random salt, at least 16 bytes. */
  readonly salt: Uint8Array;
  /** Argon2id cost. Default {@link OWASP_ARGON2ID}. */
  readonly params?: Argon2Params;
}

/** Input of {@link verifyPassword}. */
export interface VerifyPasswordInput {
  readonly password: string;
  /** A stored hash: an Argon2id PHC string or a legacy `scrypt$...` string. */
  readonly encoded: string;
  /** The cost new hashes use: a matching hash made with another cost (or scrypt) is reported as `rehash`. */
  readonly params?: Argon2Params;
}

/** The answer of {@link verifyPassword}. */
export interface VerifyPasswordResult {
  /** True when the password matches. */
  readonly ok: boolean;
  /** True when it matches but the stored hash is not Argon2id at `params`: hash it again and store that. */
  readonly rehash: boolean;
}

/** Checks a cost, naming the bad field. */
export function checkArgon2Params(params: Argon2Params, name = "params"): void {
  if (!Number.isInteger(params.memoryKiB) || params.memoryKiB < MIN_ARGON2_MEMORY_KIB || params.memoryKiB > 1024 * 1024) {
    throw new RangeError(`${name}.memoryKiB must be an integer in [${MIN_ARGON2_MEMORY_KIB}, 1048576]`);
  }
  if (!Number.isInteger(params.passes) || params.passes < 1 || params.passes > 10) throw new RangeError(`${name}.passes must be an integer in [1, 10]`);
}

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
