import type { ComputePool } from "../../mesh/compute/index.ts";
import type { ProductText } from "./content-features.ts";
import type { ModelStore } from "./model-store.ts";
import type { OrderLog } from "./order-log.ts";
import { packOrders } from "./packed-orders.ts";
import { shareCatalogue } from "./shared-catalogue.ts";
import { type ModelView, viewOf } from "./recommend.ts";
import type { ModelInfo, RecommendationModel } from "./recommendation-model.ts";
import type { TrainInput } from "./train-task.ts";

// By URL, not import: the serving thread never loads the task module (nor ml-matrix).
const TRAIN_TASK_URL = new URL("./train-task.ts", import.meta.url).href;

/** Options of {@link startModelTrainer}. */
export interface ModelTrainerOptions {
  /** Where training runs (the piscina pool in a service; never this thread's event loop). Required. */
  readonly compute: ComputePool;
  /** The orders to learn from. Required. */
  readonly orders: OrderLog;
  /** Where models persist. Required. */
  readonly store: ModelStore;
  /** The catalogue's texts, for content features. Required. */
  readonly products: readonly ProductText[];
  /**
   * How often to look for new orders (and train when there are some) or a newer model saved by a
   * replica, in ms; 0 never (train only on demand). Default 60,000.
   */
  readonly intervalMs?: number;
  /** Told when a periodic check or training fails; the next one tries again. Default: nothing. */
  readonly onError?: (error: unknown) => void;
  /** Told when a new model starts serving (a trained first one too; not one loaded at start). Default: nothing. */
  readonly onSwap?: (info: ModelInfo) => void;
  /**
   * Return before a first model exists (none saved): it trains in the background, `current()` is
   * undefined until it swaps in, and a failed first training is told to `onError` and tried again by the
   * next periodic check (or a `retrain()`). Lets a service listen at once. Default false: wait for it.
   */
  readonly trainInBackground?: boolean;
}

/** A running trainer: the model serving now, and training on demand. */
export interface ModelTrainer {
  /**
   * The model serving now (with its index); replaced whole by each swap, so a call sees one model.
   * Undefined only while the first model trains in the background (`trainInBackground`).
   */
  current(): ModelView | undefined;
  /** The model serving now, or the first one once it swaps in; rejects with `signal`'s reason when it aborts first. */
  serving(signal?: AbortSignal): Promise<ModelView>;
  /** Trains on every recorded order now and swaps the new model in; concurrent calls share one run. */
  retrain(signal?: AbortSignal): Promise<ModelInfo>;
  /** Orders recorded since the serving model was trained. */
  pendingOrders(signal?: AbortSignal): Promise<number>;
  /** Stops the periodic checks and waits for a training in progress. */
  close(): Promise<void>;
}

/**
 * Serves the persisted model at once (or trains one, when orders exist but no model does; in the
 * background with `trainInBackground`), then retrains on the compute pool every `intervalMs` when orders arrived, swapping each new model in.
 */
export async function startModelTrainer(options: ModelTrainerOptions): Promise<ModelTrainer> {
  if (!options?.compute) throw new TypeError("options.compute is required");
  if (!options.orders) throw new TypeError("options.orders is required");
  if (!options.store) throw new TypeError("options.store is required");
  if (!Array.isArray(options.products)) throw new TypeError("options.products is required");
  const intervalMs = options.intervalMs ?? 60_000;
  if (!Number.isInteger(intervalMs) || intervalMs < 0) throw new TypeError("options.intervalMs must be a non-negative integer (milliseconds)");
  const { compute, orders, store, onError = () => {}, onSwap = () => {} } = options;
  // Encoded into shared memory once: each training hands the worker these bytes instead of a clone.
  const products = shareCatalogue(options.products);

  const closing = new AbortController();
  const train = async (version: number, signal?: AbortSignal): Promise<RecommendationModel> => {
    // Packed in shared memory: handing the log to the worker copies nothing on this thread.
    const packed = version === 0 ? packOrders([]) : await orders.snapshot(signal);
    const input: TrainInput = { products, orders: packed, version };
    return await compute.run<RecommendationModel>(TRAIN_TASK_URL, "trainRecommendations", input, { signal });
  };
  let view: ModelView | undefined;
  // Calls waiting for the first model (serving()); each removes itself when woken or aborted.
  const waiting = new Set<() => void>();
  const swap = (model: RecommendationModel) => {
    if (view !== undefined && model.info.version < view.model.info.version) return;
    view = viewOf(model);
    for (const wake of waiting) wake();
    onSwap(model.info);
  };

  let running: Promise<ModelInfo> | undefined;
  const retrain = (signal?: AbortSignal): Promise<ModelInfo> =>
    (running ??= (async () => {
      const model = await train(await store.nextVersion(signal), AbortSignal.any([closing.signal, ...(signal ? [signal] : [])]));
      await store.save(model);
      swap(model);
      return view!.model.info;
    })().finally(() => (running = undefined)));

  // Version 0: content features only, so every call answers before the first training on orders.
  const saved = await store.load();
  if (saved !== undefined) view = viewOf(saved);
  let starting: Promise<void> | undefined;
  const start = (): Promise<void> =>
    (starting ??= (async () => {
      if (view === undefined) swap(await train(0, closing.signal));
      if (view!.model.info.version === 0 && (await orders.count(closing.signal)) > 0) await retrain();
    })().finally(() => (starting = undefined)));

  const pendingOrders = async (signal?: AbortSignal) => Math.max(0, (await orders.count(signal)) - (view?.model.info.orders ?? 0));
  const check = async () => {
    if (view === undefined) return await start();
    if ((await store.savedVersion(closing.signal)) > view.model.info.version) {
      const saved = await store.load(closing.signal);
      if (saved !== undefined) swap(saved);
    }
    if ((await pendingOrders(closing.signal)) > 0) await retrain();
  };
  if (options.trainInBackground === true) void start().catch((error) => closing.signal.aborted || onError(error));
  else await start();
  let timer: NodeJS.Timeout | undefined;
  if (intervalMs > 0) {
    timer = setInterval(() => void check().catch((error) => closing.signal.aborted || onError(error)), intervalMs);
    timer.unref();
  }

  return {
    current: () => view,
    serving(signal) {
      if (view !== undefined) return Promise.resolve(view);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<ModelView>((resolve, reject) => {
        const done = () => {
          waiting.delete(wake);
          signal?.removeEventListener("abort", abort);
        };
        const wake = () => (done(), resolve(view!));
        const abort = () => (done(), reject(signal!.reason));
        waiting.add(wake);
        signal?.addEventListener("abort", abort, { once: true });
      });
    },
    retrain,
    pendingOrders,
    async close() {
      clearInterval(timer);
      closing.abort();
      await Promise.all([running?.catch(() => {}), starting?.catch(() => {})]);
    },
  };
}
