import { getPriority, setPriority } from "node:os";
import { workerData } from "node:worker_threads";

/** What the pool hands each of its worker threads at start (piscina's `workerData`). */
export interface WorkerStart {
  /** How much lower than the event loop's this thread's CPU priority (nice value) runs; 0 = the same. */
  readonly niceIncrement: number;
}

/**
 * Lowers the calling worker thread's CPU priority by the increment its pool asked for. Linux keeps a
 * nice value per thread and `setPriority(0, …)` changes only the calling thread, so a saturated pool
 * yields a contested core to the event loop (nice 10 weighs 110 against the loop's 1,024). Elsewhere
 * the call would renice the whole process, so the thread keeps the process's priority there.
 */
export function applyWorkerPriority(start: Partial<WorkerStart> | undefined = workerData as Partial<WorkerStart> | undefined): number {
  const increment = start?.niceIncrement ?? 0;
  if (increment <= 0 || process.platform !== "linux") return getPriority();
  try {
    setPriority(Math.min(19, getPriority() + increment));
  } catch {
    // A container that forbids setpriority leaves the thread at the process's priority: slower event loop, same results.
  }
  return getPriority();
}
