// Graceful drain as an ordered list of hooks, and the SIGTERM/SIGINT wiring main files use.

import { errorFields, type HostLogger } from "../engine/index.ts";
import { WeftOptionsError } from "../errors/index.ts";

/**
 * The phases of a drain, in order:
 * - "announce": tell the world this instance is leaving (health NOT_SERVING; later: discovery leave).
 * - "refuse": stop admitting new calls (UNAVAILABLE; HTTP/1.1 responses close their connection).
 * - "settle": wait for in-flight calls (up to the grace period), then abort the rest.
 * - "close": GOAWAY, close the listener and release resources.
 */
export const drainPhases = ["announce", "refuse", "settle", "close"] as const;

/** One phase of a drain. */
export type DrainPhase = (typeof drainPhases)[number];

/** A step of a drain. Hooks of one phase run one after another, in the order they were added. */
export interface DrainHook {
  /** A name for logs, e.g. "discovery-leave". */
  readonly name: string;
  /** When it runs. */
  readonly phase: DrainPhase;
  /** The work; a rejection is logged and the drain goes on (a drain must always finish). */
  run(): void | Promise<void>;
}

/** The ordered hooks of one host's drain. */
export class DrainSequence {
  readonly #hooks: DrainHook[] = [];

  /** Adds a hook; it runs after the hooks already added to the same phase. */
  add(hook: DrainHook): void {
    if (!drainPhases.includes(hook.phase)) {
      throw new WeftOptionsError("WEFT_ERR_HOST_OPTIONS", `drain hook ${JSON.stringify(hook.name)}: phase must be one of ${drainPhases.join(", ")}`);
    }
    this.#hooks.push(hook);
  }

  /** The hooks in the order they will run. */
  ordered(): readonly DrainHook[] {
    return drainPhases.flatMap((phase) => this.#hooks.filter((hook) => hook.phase === phase));
  }

  /** Runs every hook in order; a failing hook is logged, not fatal. */
  async run(logger: HostLogger): Promise<void> {
    for (const hook of this.ordered()) {
      try {
        await hook.run();
      } catch (err) {
        logger.error("drain hook failed", { hook: hook.name, phase: hook.phase, ...errorFields(err) });
      }
    }
  }
}

/** Something that can drain: a Host. */
export interface Drainable {
  drain(): Promise<void>;
}

/**
 * How long after the first shutdown signal a repeat counts as the same request. A terminal's Ctrl-C
 * reaches the whole process group, and a parent (npm, a launcher) forwards it again: a process sees two
 * signals for one key press.
 */
export const SIGNAL_REPEAT_WINDOW_MS = 1_000;

/** Options of `onShutdownSignals`. */
export interface ShutdownSignalsOptions {
  /** Signals that ask for a shutdown. Default ["SIGTERM", "SIGINT"]. */
  signals?: readonly NodeJS.Signals[];
  /** Runs on the first signal: start a graceful shutdown. */
  onFirst(signal: NodeJS.Signals): void;
  /** Runs on a signal after the repeat window: stop at once. */
  onSecond(signal: NodeJS.Signals): void;
  /** A repeat within this many ms of the first signal is ignored. Default SIGNAL_REPEAT_WINDOW_MS. */
  repeatWindowMs?: number;
  /** The clock, in ms. Default `performance.now`. */
  now?: () => number;
}

/**
 * The one signal rule of Weft processes and the launcher: the first SIGTERM/SIGINT starts a graceful
 * shutdown, a repeat within `repeatWindowMs` (the same Ctrl-C delivered twice) is ignored, a later
 * one stops at once. Returns a function that removes the handlers.
 */
export function onShutdownSignals(options: ShutdownSignalsOptions): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const windowMs = options.repeatWindowMs ?? SIGNAL_REPEAT_WINDOW_MS;
  const now = options.now ?? (() => performance.now());
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = now();
      options.onFirst(signal);
    } else if (now() - firstAt >= windowMs) {
      options.onSecond(signal);
    }
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
}

/**
 * Until a drain handler is installed (drainOnSignals), a SIGTERM/SIGINT ends the process at once with 0:
 * a process told to stop while it is still starting (a rolling update, Ctrl-C during a slow start) serves
 * nothing yet, so there is nothing to drain, and dying of the signal would look like a crash to whoever
 * sent it. Once another handler of the signal exists, that one decides alone. Returns a function that
 * removes the handlers.
 */
export function exitOnSignalsDuringStartup(options: Pick<DrainOnSignalsOptions, "signals" | "exit" | "logger"> = {}): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    options.logger?.info("stopped during start-up", { signal });
    exit(0);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
}

/** Options of `drainOnSignals`. */
export interface DrainOnSignalsOptions {
  /** Signals that start a drain. Default ["SIGTERM", "SIGINT"]. */
  signals?: readonly NodeJS.Signals[];
  /** Called with the exit code when the drain has finished (0) or failed (1). Default `process.exit`. */
  exit?: (code: number) => void;
  /** Where to log the signal and drain failures. Default: nothing logged. */
  logger?: HostLogger;
  /** A repeat within this many ms of the first signal is the same request (see onShutdownSignals). Default SIGNAL_REPEAT_WINDOW_MS. */
  repeatWindowMs?: number;
  /** The clock of the repeat window, in ms. Default `performance.now`. */
  now?: () => number;
}

/**
 * Drains `host` on SIGTERM/SIGINT, then exits 0 (1 if the drain failed). A second signal (after the
 * repeat window) exits at once with 130. Returns a function that removes the signal handlers.
 */
export function drainOnSignals(host: Drainable, options: DrainOnSignalsOptions = {}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  return onShutdownSignals({
    signals: options.signals,
    repeatWindowMs: options.repeatWindowMs,
    now: options.now,
    onFirst(signal) {
      options.logger?.info("draining", { signal });
      host.drain().then(
        () => exit(0),
        (err: unknown) => {
          options.logger?.error("drain failed", errorFields(err));
          exit(1);
        },
      );
    },
    onSecond(signal) {
      options.logger?.info("second signal: exiting without waiting", { signal });
      exit(130);
    },
  });
}
