import { EventsOptionsError } from "../errors/index.ts";
import type { SubscribeOptions } from "./event-bus.ts";

/** Events handled at once per subscription unless `concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 16;
/** Deliveries before dead-lettering unless `maxDeliver` says otherwise. */
export const DEFAULT_MAX_DELIVER = 5;

/** Fills defaults and fails fast, naming the bad field. */
export function parseSubscribeOptions(
  options: SubscribeOptions,
  consumer: string,
): { concurrency: number; maxDeliver: number } {
  if (!/^[A-Za-z0-9_-]+$/.test(consumer)) {
    throw new EventsOptionsError(`consumer must be letters, digits, "_" or "-", got ${JSON.stringify(consumer)}`);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const maxDeliver = options.maxDeliver ?? DEFAULT_MAX_DELIVER;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new EventsOptionsError("options.concurrency must be a positive integer");
  }
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) {
    throw new EventsOptionsError("options.maxDeliver must be a positive integer");
  }
  return { concurrency, maxDeliver };
}

/** The dead-letter reason for a handler's failure: its message, never a stack. */
export function failureReason(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
