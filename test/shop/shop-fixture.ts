import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type ComputePool, createInlineComputePool } from "../../mesh/compute/index.ts";
import { silentLogger } from "../../mesh/host/index.ts";
import { type InProcessShopOptions, startInProcessShop } from "../../services/in-process-shop.ts";

/** Passwords starting with this make hashing wait this long first (abortable): a slow call on demand. */
export const SLOW_PASSWORD_PREFIX = "slow-";
export const SLOW_HASH_DELAY_MS = 3_000;

/**
 * The real inline compute pool, except that a password starting with "slow-" waits before hashing
 * (honouring the call's abort signal), so deadline tests have a call that is slow for a known reason.
 */
export function createSlowableComputePool(): ComputePool {
  const inner = createInlineComputePool();
  return {
    async run(moduleUrl, name, input, options) {
      const password = (input as { password?: unknown })?.password;
      if (typeof password === "string" && password.startsWith(SLOW_PASSWORD_PREFIX)) {
        await sleep(SLOW_HASH_DELAY_MS, undefined, { signal: options?.signal });
      }
      return inner.run(moduleUrl, name, input, options);
    },
    close: () => inner.close(),
  };
}

/** The in-process shop on an ephemeral port, quiet, with the slowable pool. */
export function startTestShop(options: InProcessShopOptions = {}) {
  return startInProcessShop({ port: 0, logger: silentLogger, compute: createSlowableComputePool(), drainGraceMs: 2_000, ...options });
}

/** The seed stock (services/inventory/seed/stock.json). */
export function seedStock(): Record<string, number> {
  return JSON.parse(readFileSync(new URL("../../services/inventory/seed/stock.json", import.meta.url), "utf8"));
}

/** The first seed product whose starting stock is between 1 and 3 units. */
export function lowStockProduct(): { id: string; units: number } {
  const entry = Object.entries(seedStock()).find(([, units]) => units >= 1 && units <= 3);
  if (!entry) throw new Error("the seed has no low-stock product");
  return { id: entry[0], units: entry[1] };
}

/** The first seed product that starts sold out. */
export function soldOutProduct(): string {
  const entry = Object.entries(seedStock()).find(([, units]) => units === 0);
  if (!entry) throw new Error("the seed has no sold-out product");
  return entry[0];
}

/** A unique email per call, so tests never collide on ALREADY_EXISTS by accident. */
export function uniqueEmail(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}
