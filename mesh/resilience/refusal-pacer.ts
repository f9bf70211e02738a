// Paces refusals to what overload needs: a refusal is sent at once while refusals keep within a few per
// call served (an open loop at a few times capacity: its excess is refused fast); beyond that (a closed
// loop of callers that send again the moment they are refused), it is held for a while first. An
// instant refusal costs the server about what a small call does, and a closed loop turns each into a
// new call at once: unpaced, refusals took most of the CPU and the goodput fell to a fraction of
// capacity. A held refusal costs a timer, and its caller comes back once per hold instead of at once.

import { assertInt, assertNumber } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createRefusalPacer} (the `pacing` option of `createLoadSheddingHooks`). */
export interface RefusalPacerOptions {
  /** Refusals sent at once per call started (0: hold every refusal). Default 3: an overload of up to 4x capacity is refused at once. */
  readonly refusalsPerStart?: number;
  /** Refusals that may be sent at once in a burst, before any call started (whole refusals). Default 64. */
  readonly burstRefusals?: number;
  /** How long a paced refusal is held, in milliseconds (0: never hold). Default 100: the wait of a queued call. */
  readonly holdMs?: number;
  /** Most refusals held at a time (whole calls; beyond it, refusals go at once). Default 1024. */
  readonly maxHeldCalls?: number;
}

/** The pacer's state and operations. */
export interface RefusalPacer {
  /** Counts a call started: it earns `refusalsPerStart` instant refusals. */
  started(): void;
  /** True when a refusal goes at once (it is counted); false when it is to be held (see hold). */
  instant(): boolean;
  /** Holds a refusal: `refuse` runs after the hold, or at once when `signal` aborts first. */
  hold(refuse: () => void, signal: AbortSignal | undefined): void;
  /** Refusals held now. */
  readonly held: number;
}

/** Creates a refusal pacer (one per set of load-shedding hooks). */
export function createRefusalPacer(options: RefusalPacerOptions = {}): RefusalPacer {
  const refusalsPerStart = options.refusalsPerStart ?? 3;
  const burstRefusals = options.burstRefusals ?? 64;
  const holdMs = options.holdMs ?? 100;
  const maxHeldCalls = options.maxHeldCalls ?? 1024;
  assertNumber(OPTIONS, refusalsPerStart, "options.pacing.refusalsPerStart", 0);
  assertInt(OPTIONS, burstRefusals, "options.pacing.burstRefusals", 0);
  assertNumber(OPTIONS, holdMs, "options.pacing.holdMs", 0);
  assertInt(OPTIONS, maxHeldCalls, "options.pacing.maxHeldCalls", 0);

  let tokens = burstRefusals;
  let held = 0;

  return {
    started() {
      tokens = Math.min(burstRefusals, tokens + refusalsPerStart);
    },
    instant() {
      if (tokens >= 1) {
        tokens--;
        return true;
      }
      return holdMs === 0 || held >= maxHeldCalls;
    },
    hold(refuse, signal) {
      if (signal?.aborted === true) {
        refuse();
        return;
      }
      held++;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        held--;
        refuse();
      };
      const timer = setTimeout(done, holdMs);
      signal?.addEventListener("abort", done, { once: true });
    },
    get held() {
      return held;
    },
  };
}
