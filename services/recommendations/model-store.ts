import type { Redis } from "ioredis";
import { redisCall, slotPrefix } from "../../mesh/redis/index.ts";
import { modelFromJson, modelToJson, type RecommendationModel } from "./recommendation-model.ts";

/** Names the store in errors: "recommendation model store is unavailable". */
const STORE = "recommendation model store";

/** Where trained models persist, so a restart serves the last model instead of training from zero. */
export interface ModelStore {
  /** The last saved model, or undefined. */
  load(signal?: AbortSignal): Promise<RecommendationModel | undefined>;
  /** The saved model's version (0 when none): cheap, to poll for a replica's newer model. */
  savedVersion(signal?: AbortSignal): Promise<number>;
  /** Saves `model` unless a newer version is saved already. */
  save(model: RecommendationModel, signal?: AbortSignal): Promise<void>;
  /** A version number no model from this store has had (unique across replicas sharing it). */
  nextVersion(signal?: AbortSignal): Promise<number>;
}

/** A store in this process's memory (the embedded default). */
export function createMemoryModelStore(): ModelStore {
  let saved: RecommendationModel | undefined;
  let version = 0;
  return {
    async load() {
      return saved;
    },
    async savedVersion() {
      return saved?.info.version ?? 0;
    },
    async save(model) {
      if (saved === undefined || model.info.version > saved.info.version) saved = model;
    },
    async nextVersion() {
      return ++version;
    },
  };
}

/** Options of {@link createRedisModelStore}. */
export interface RedisModelStoreOptions {
  /** The connection (the caller owns it). Required. */
  readonly redis: Redis;
  /** Prefix of the store's keys, e.g. "recommendations:v1:". Required. */
  readonly keyPrefix: string;
}

// KEYS[1]: the model, KEYS[2]: its version. ARGV[1]: version, ARGV[2]: JSON. An older model never overwrites a newer one.
const SAVE_IF_NEWER = `
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`;

/** A store in Redis: the model as one JSON value beside its version, and a version counter. */
export function createRedisModelStore(options: RedisModelStoreOptions): ModelStore {
  if (!options?.redis) throw new TypeError("options.redis is required");
  if (!options.keyPrefix) throw new TypeError("options.keyPrefix is required");
  const { redis } = options;
  // One Cluster slot: the model and its version are saved by one script.
  const keyPrefix = slotPrefix(options.keyPrefix);
  return {
    async load() {
      const text = await redisCall(STORE, () => redis.get(`${keyPrefix}model`));
      return text === null ? undefined : modelFromJson(text);
    },
    async savedVersion() {
      return Number((await redisCall(STORE, () => redis.get(`${keyPrefix}model-version`))) ?? 0);
    },
    async save(model) {
      await redisCall(STORE, () => redis.eval(SAVE_IF_NEWER, 2, `${keyPrefix}model`, `${keyPrefix}model-version`, model.info.version, modelToJson(model)));
    },
    async nextVersion() {
      return await redisCall(STORE, () => redis.incr(`${keyPrefix}version-counter`));
    },
  };
}
