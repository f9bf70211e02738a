import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type ModelInfoSchema, Reason, type RecommendationSchema, RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import type { ModelTrainer } from "./model-trainer.ts";
import { boughtTogether, recommendForUser, type Scored, similarProducts } from "./recommend.ts";
import type { ModelInfo } from "./recommendation-model.ts";

/** Options of {@link createRecommendationService}. */
export interface RecommendationServiceOptions {
  /** The serving model and on-demand training. Required. */
  readonly trainer: ModelTrainer;
}

/** Answers when a request's limit is 0. */
export const DEFAULT_LIMIT = 10;

const REASONS = { collaborative: Reason.COLLABORATIVE, content: Reason.CONTENT, popular: Reason.POPULAR } as const;

/** The RecommendationService handlers: every read scores against the one model serving at its start. */
export function createRecommendationService(options: RecommendationServiceOptions): ServiceImpl<typeof RecommendationService> {
  if (!options?.trainer) throw new TypeError("options.trainer is required");
  const { trainer } = options;
  return {
    recommendForUser(req) {
      const view = trainer.current();
      const scored = recommendForUser(view, req.userId, req.contextProductIds, req.limit || DEFAULT_LIMIT);
      return { recommendations: scored.map(publicRecommendation), modelVersion: BigInt(view.model.info.version) };
    },
    similarProducts(req) {
      const view = trainer.current();
      const scored = similarProducts(view, req.productId, req.limit || DEFAULT_LIMIT);
      if (scored === undefined) throw new ConnectError(`product ${req.productId} not found`, Code.NotFound);
      return { recommendations: scored.map(publicRecommendation), modelVersion: BigInt(view.model.info.version) };
    },
    boughtTogether(req) {
      const view = trainer.current();
      const scored = boughtTogether(view, req.productIds, req.limit || DEFAULT_LIMIT);
      return { recommendations: scored.map(publicRecommendation), modelVersion: BigInt(view.model.info.version) };
    },
    async getModelInfo(_req, ctx) {
      const info = trainer.current().model.info;
      return { model: publicInfo(info), pendingOrders: BigInt(await trainer.pendingOrders(ctx.signal)) };
    },
    async retrain(_req, ctx) {
      return { model: publicInfo(await trainer.retrain(ctx.signal)) };
    },
  };
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
