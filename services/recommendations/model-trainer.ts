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
  /** Told when a new model starts serving. Default: nothing. */
  readonly onSwap?: (info: ModelInfo) => void;
}

/** A running trainer: the model serving now, and training on demand. */
export interface ModelTrainer {
  /** The model serving now (with its index); replaced whole by each swap, so a call sees one model. */
  current(): ModelView;
  /** Trains on every recorded order now and swaps the new model in; concurrent calls share one run. */
  retrain(signal?: AbortSignal): Promise<ModelInfo>;
  /** Orders recorded since the serving model was trained. */
  pendingOrders(signal?: AbortSignal): Promise<number>;
  /** Stops the periodic checks and waits for a training in progress. */
  close(): Promise<void>;
}

/**
 * Serves the persisted model at once (or trains one, when orders exist but no model does), then
 * retrains on the compute pool every `intervalMs` when orders arrived, swapping each new model in.
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
  const swap = (model: RecommendationModel) => {
    if (model.info.version < view.model.info.version) return;
    view = viewOf(model);
    onSwap(model.info);
  };

  // Version 0: content features only, so every call answers before the first training.
  let view = viewOf((await store.load()) ?? (await train(0, closing.signal)));
  let running: Promise<ModelInfo> | undefined;
  const retrain = (signal?: AbortSignal): Promise<ModelInfo> =>
    (running ??= (async () => {
      const model = await train(await store.nextVersion(signal), AbortSignal.any([closing.signal, ...(signal ? [signal] : [])]));
      await store.save(model);
      swap(model);
      return view.model.info;
    })().finally(() => (running = undefined)));

  const pendingOrders = async (signal?: AbortSignal) => Math.max(0, (await orders.count(signal)) - view.model.info.orders);
  const check = async () => {
    if ((await store.savedVersion(closing.signal)) > view.model.info.version) {
      const saved = await store.load(closing.signal);
      if (saved !== undefined) swap(saved);
    }
    if ((await pendingOrders(closing.signal)) > 0) await retrain();
  };
  let timer: NodeJS.Timeout | undefined;
  if (intervalMs > 0) {
    timer = setInterval(() => void check().catch((error) => closing.signal.aborted || onError(error)), intervalMs);
    timer.unref();
  }
  if (view.model.info.version === 0 && (await orders.count(closing.signal)) > 0) await retrain();

  return {
    current: () => view,
    retrain,
    pendingOrders,
    async close() {
      clearInterval(timer);
      closing.abort();
      await running?.catch(() => {});
    },
  };
}
