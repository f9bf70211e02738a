// Tasks used by the compute tests. CPU only, no I/O.
import { scryptSync } from "node:crypto";

/** Adds two numbers. */
export function add(input: { a: number; b: number }): number {
  return input.a + input.b;
}

/** Spins the CPU for `ms` milliseconds, then returns how long it ran. */
export function spin(input: { ms: number }): number {
  const started = performance.now();
  while (performance.now() - started < input.ms) {
    // busy
  }
  return performance.now() - started;
}

/** Resolves after `ms` (an asynchronous task, for cancellation tests of the inline pool). */
export function sleep(input: { ms: number }): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve("slept"), input.ms));
}

/** Throws, the way a buggy task does. */
export function fail(input: { message: string }): never {
  throw new Error(input.message);
}

/** Kills the worker thread it runs on (a native crash stand-in). */
export function crash(): never {
  process.exit(1);
}

/** scrypt with N=16384, the password-hashing workload. */
export function scrypt(input: { password: string; salt: string }): string {
  return scryptSync(input.password, input.salt, 32, { N: 16384, r: 8, p: 1 }).toString("hex");
}

/** Returns the context the pool handed to the task. */
export function context(_input: unknown, ctx: { trace: Record<string, string> }): { trace: Record<string, string> } {
  return ctx;
}

/** Returns the id of the thread it ran on (0 is the main thread). */
export async function threadId(): Promise<number> {
  return (await import("node:worker_threads")).threadId;
}

/** The running thread's CPU priority (nice value) as the kernel keeps it for this thread. */
export async function priority(): Promise<number> {
  const { getPriority } = await import("node:os");
  return getPriority();
}
