/** The identity service: handlers, access tokens and their keys, the user directories (in memory, Redis) and the password worker task. */
export { createIdentityService } from "./identity-service.ts";
export type { IdentityServiceOptions } from "./identity-service.ts";
export { bearerToken, createAccessTokens } from "./access-tokens.ts";
export type { AccessTokens, AccessTokensOptions, IssuedToken } from "./access-tokens.ts";
export { generateSigningKeys, MAX_SIGNING_KEYS, newSigningKeysSetting, parseSigningKeys, SigningKeysError, TOKEN_ALGORITHM } from "./signing-keys.ts";
export type { SigningKeys } from "./signing-keys.ts";
export { ACCESS_TOKEN_TYPE, createTokenVerifier, TOKEN_AUDIENCE, TOKEN_ISSUER } from "./token-verifier.ts";
export type { TokenVerifier, TokenVerifierOptions } from "./token-verifier.ts";
export { createUserDirectory } from "./user-directory.ts";
export { createRedisUserDirectory } from "./redis-user-directory.ts";
export type { RedisUserDirectoryOptions } from "./redis-user-directory.ts";
export type { UserDirectory, UserRecord } from "./user-directory.ts";
export { OWASP_ARGON2ID, PASSWORD_TASK_URL } from "./password-params.ts";
export type { Argon2Params } from "./password-params.ts";
