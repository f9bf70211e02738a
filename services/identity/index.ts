/** The identity service: handlers, access tokens, the user directories (in memory, Redis) and the scrypt worker task. */
export { createIdentityService } from "./identity-service.ts";
export type { IdentityServiceOptions } from "./identity-service.ts";
export { bearerToken, createAccessTokens, parseTokenSecret } from "./access-tokens.ts";
export type { AccessTokens, AccessTokensOptions, IssuedToken } from "./access-tokens.ts";
export { createUserDirectory } from "./user-directory.ts";
export { createRedisUserDirectory } from "./redis-user-directory.ts";
export type { RedisUserDirectoryOptions } from "./redis-user-directory.ts";
export type { UserDirectory, UserRecord } from "./user-directory.ts";
export { PASSWORD_TASK_URL } from "./password-task.ts";
