import { CacheOptionsError } from "../errors/index.ts";
/** Default time to live of a cached value. */
export const DEFAULT_TTL_MS = 30_000;
/** Default jitter: each TTL is stretched by up to this fraction so keys loaded together expire apart. */
export const DEFAULT_TTL_JITTER = 0.1;

/** `ttlMs` stretched by a random fraction in [0, jitter), rounded to whole milliseconds. */
export function jitteredTtlMs(ttlMs: number, jitter: number): number {
  return Math.max(1, Math.round(ttlMs * (1 + Math.random() * jitter)));
}

/** Validates the TTL settings shared by every cache, naming the bad field. */
export function parseTtlOptions(options: { ttlMs?: number; ttlJitter?: number }): { ttlMs: number; ttlJitter: number } {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const ttlJitter = options.ttlJitter ?? DEFAULT_TTL_JITTER;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new CacheOptionsError("options.ttlMs must be a positive number");
  if (!Number.isFinite(ttlJitter) || ttlJitter < 0 || ttlJitter > 1) {
    throw new CacheOptionsError("options.ttlJitter must be a number between 0 and 1");
  }
  return { ttlMs, ttlJitter };
}
