/**
 * The recommendations service: handlers, the order consumer and log, the trainer, and the model's scoring.
 * The worker task (`train-task.ts`, with ml-matrix) is imported directly, never through here, so the
 * serving thread does not load it.
 */
export { createRecommendationService, DEFAULT_LIMIT } from "./recommendations-service.ts";
export type { RecommendationServiceOptions } from "./recommendations-service.ts";
export { startOrderConsumer } from "./order-consumer.ts";
export type { OrderConsumerOptions } from "./order-consumer.ts";
export { createMemoryOrderLog } from "./order-log.ts";
export type { OrderLog } from "./order-log.ts";
export { createRedisOrderLog } from "./redis-order-log.ts";
export type { RedisOrderLogOptions } from "./redis-order-log.ts";
export { createMemoryModelStore, createRedisModelStore } from "./model-store.ts";
export type { ModelStore, RedisModelStoreOptions } from "./model-store.ts";
export { startModelTrainer } from "./model-trainer.ts";
export type { ModelTrainer, ModelTrainerOptions } from "./model-trainer.ts";
export type { OrderRecord, TrainInput } from "./train-task.ts";
export { createOrderColumns, packOrders, stringAt, unpackOrders } from "./packed-orders.ts";
export type { OrderColumns, PackedOrders, PackedStrings } from "./packed-orders.ts";
export { boughtTogether, DEFAULT_BLEND, historyOf, recommendForUser, similarProducts, viewOf } from "./recommend.ts";
export type { BlendWeights, ModelView, RecommendationReason, Scored } from "./recommend.ts";
export { modelFromJson, modelToJson, packRows } from "./recommendation-model.ts";
export type { ModelInfo, RecommendationModel, SparseRows } from "./recommendation-model.ts";
export type { ProductText } from "./content-features.ts";
