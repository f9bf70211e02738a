import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import { UserSchema } from "../../gen/shop/identity/v1/identity_pb.ts";
import { defineScript, requireKeyPrefix } from "../shared/index.ts";
import { redisCall, redisToConnectError, slotPrefix } from "../../mesh/redis/index.ts";
import { directoryErrors, normalizeEmail, type UserDirectory, type UserRecord } from "./user-directory.ts";

/** Options of {@link createRedisUserDirectory}. */
export interface RedisUserDirectoryOptions {
  /** The connection (the caller owns it; see mesh/redis `redisClientOptions`). Required. */
  readonly redis: Redis;
  /** Prefix of every key, e.g. `"weft:identity:"`. Every replica of one shop uses the same. Required. */
  readonly keyPrefix: string;
}

const STORE = "user store";

// KEYS: email -> id, id -> record. ARGV: id, record. Claims the email and stores the user in one step.
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'email-taken' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'id-taken' end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return 'ok'
`;

// KEYS: id -> record. ARGV: new hash. Replaces the hash inside the stored record, only if the user exists.
const SET_HASH = `
local json = redis.call('GET', KEYS[1])
if not json then return 0 end
local stored = cjson.decode(json)
stored.passwordHash = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(stored))
return 1
`;

/** What one user's key holds: the User as Protobuf JSON and the password hash (never the password). */
interface StoredUser {
  readonly user: JsonValue;
  readonly passwordHash: string;
}

/**
 * A user directory in Redis shared by identity replicas: `user:<id>` holds the record, `email:<email>`
 * the id. Registering claims the email and writes the user in one Lua script, so two replicas racing on
 * one email make exactly one user. Redis failures surface as Connect codes through mesh/redis.
 */
export function createRedisUserDirectory(options: RedisUserDirectoryOptions): UserDirectory {
  if (!options?.redis) throw new TypeError("options.redis must be an ioredis connection");
  // One Cluster slot: adding a user writes its email key and its user key in one script.
  const prefix = slotPrefix(requireKeyPrefix(options.keyPrefix));
  const { redis } = options;
  const userKey = (id: string) => `${prefix}user:${id}`;
  const emailKey = (email: string) => `${prefix}email:${normalizeEmail(email)}`;
  const addScript = defineScript(redis, "weftIdentityAddUser", ADD, 2);
  const setHashScript = defineScript(redis, "weftIdentitySetPasswordHash", SET_HASH, 1);

  async function read(id: string): Promise<UserRecord | undefined> {
    const json = await redisCall(STORE, () => redis.get(userKey(id)));
    if (json === null) return undefined;
    try {
      const stored = JSON.parse(json) as StoredUser;
      return { user: fromJson(UserSchema, stored.user), passwordHash: stored.passwordHash };
    } catch (err) {
      throw redisToConnectError(err, STORE);
    }
  }

  return {
    byId: read,
    async byEmail(email) {
      const id = await redisCall(STORE, () => redis.get(emailKey(email)));
      return id === null ? undefined : read(id);
    },
    async add(record) {
      const stored: StoredUser = { user: toJson(UserSchema, record.user), passwordHash: record.passwordHash };
      const id = record.user.id;
      const outcome = await redisCall(STORE, () => addScript([emailKey(record.user.email), userKey(id)], [id, JSON.stringify(stored)]));
      if (outcome === "email-taken") throw directoryErrors.emailTaken(normalizeEmail(record.user.email));
      if (outcome === "id-taken") throw directoryErrors.idTaken(id);
    },
    async setPasswordHash(id, passwordHash) {
      await redisCall(STORE, () => setHashScript([userKey(id)], [passwordHash]));
    },
  };
}
