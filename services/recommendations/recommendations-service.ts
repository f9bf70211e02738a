import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type ModelInfoSchema, Reason, type RecommendationSchema, RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { withValidation } from "../../mesh/validation/index.ts";
import type { ModelTrainer } from "./model-trainer.ts";
import { boughtTogether, type ModelView, recommendForUser, type Scored, similarProducts } from "./recommend.ts";
import type { ModelInfo } from "./recommendation-model.ts";

/** Options of {@link createRecommendationService}. */
export interface RecommendationServiceOptions {
  /** The serving model and on-demand training. Required. */
  readonly trainer: ModelTrainer;
  /**
   * How long a call that arrives before the first model (still training at start) waits for it, in ms;
   * then it is answered UNAVAILABLE, which callers may retry. Default 5,000.
   */
  readonly firstModelWaitMs?: number;
}

/** Answers when a request's limit is 0. */
export const DEFAULT_LIMIT = 10;

/** Default of {@link RecommendationServiceOptions.firstModelWaitMs}. */
export const FIRST_MODEL_WAIT_MS = 5_000;

const REASONS = { collaborative: Reason.COLLABORATIVE, content: Reason.CONTENT, popular: Reason.POPULAR } as const;

/**
 * The RecommendationService handlers: every read scores against the one model serving at its start.
 * Requests are checked against the contract's rules first (a limit above 50, more than 20 context
 * products or 50 cart products: INVALID_ARGUMENT), so a call's work stays bounded.
 */
export function createRecommendationService(options: RecommendationServiceOptions): ServiceImpl<typeof RecommendationService> {
  if (!options?.trainer) throw new TypeError("options.trainer is required");
  const { trainer } = options;
  const waitMs = options.firstModelWaitMs ?? FIRST_MODEL_WAIT_MS;
  if (!Number.isInteger(waitMs) || waitMs < 0) throw new TypeError("options.firstModelWaitMs must be a non-negative integer (milliseconds)");
  // Synchronous while a model serves (every call after the first training); waits only before it.
  const withModel = <T>(signal: AbortSignal, answer: (view: ModelView) => T): T | Promise<T> => {
    const view = trainer.current();
    return view !== undefined ? answer(view) : firstModel(trainer, waitMs, signal).then(answer);
  };
  return withValidation(RecommendationService, {
    recommendForUser(req, ctx) {
      return withModel(ctx.signal, (view) => {
        return answer(view, recommendForUser(view, req.userId, req.contextProductIds, req.limit || DEFAULT_LIMIT));
      });
    },
    similarProducts(req, ctx) {
      return withModel(ctx.signal, (view) => {
        const scored = similarProducts(view, req.productId, req.limit || DEFAULT_LIMIT);
        if (scored === undefined) throw new ConnectError(`product ${req.productId} not found`, Code.NotFound);
        return answer(view, scored);
      });
    },
    boughtTogether(req, ctx) {
      return withModel(ctx.signal, (view) => {
        return answer(view, boughtTogether(view, req.productIds, req.limit || DEFAULT_LIMIT));
      });
    },
    async getModelInfo(_req, ctx) {
      const info = (await withModel(ctx.signal, (view) => view)).model.info;
      return { model: publicInfo(info), pendingOrders: BigInt(await trainer.pendingOrders(ctx.signal)) };
    },
    async retrain(_req, ctx) {
      return { model: publicInfo(await trainer.retrain(ctx.signal)) };
    },
  });
}

/** The first model, waited for at most `waitMs`; UNAVAILABLE when it is still training by then. */
async function firstModel(trainer: ModelTrainer, waitMs: number, signal: AbortSignal): Promise<ModelView> {
  const waited = AbortSignal.timeout(waitMs);
  try {
    return await trainer.serving(AbortSignal.any([signal, waited]));
  } catch (err) {
    if (!waited.aborted || signal.aborted) throw err;
    throw new ConnectError("no recommendation model yet: the first one is still training, retry shortly", Code.Unavailable);
  }
}

/** A list answer: the ranked products and the version of the model that ranked them. */
function answer(view: ModelView, scored: readonly Scored[]) {
  return { recommendations: scored.map(publicRecommendation), modelVersion: BigInt(view.model.info.version) };
}

function publicRecommendation(r: Scored): MessageInitShape<typeof RecommendationSchema> {
  return { productId: r.productId, score: r.score, reason: REASONS[r.reason] };
}

function publicInfo(info: ModelInfo): MessageInitShape<typeof ModelInfoSchema> {
  return {
    version: BigInt(info.version),
    trainedAt: info.trainedAtMs === 0 ? undefined : timestampFromMs(info.trainedAtMs),
    trainingMs: BigInt(info.trainingMs),
    orders: BigInt(info.orders),
    users: BigInt(info.users),
  };
}
