// The password task's parameters, inputs and answers, apart from the task itself: the identity service
// (and anything importing services/identity) needs them without loading the Argon2 native module, which
// only the worker threads that run password-task.ts load.

/** URL of the task module, for `ComputePool.run(PASSWORD_TASK_URL, ...)`. */
export const PASSWORD_TASK_URL = new URL("./password-task.ts", import.meta.url).href;

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
