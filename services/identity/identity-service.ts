import { randomBytes, randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { IdentityService, type User, UserSchema } from "../../gen/shop/identity/v1/identity_pb.ts";
import type { ComputePool } from "../../mesh/compute/index.ts";
import { requireOptions, ShopOptionsError } from "../shared/index.ts";
import { type AccessTokens, bearerToken } from "./access-tokens.ts";
import { checkNewPassword, loadPasswordBlocklist } from "./password-policy.ts";
import {
  type Argon2Params,
  checkArgon2Params,
  type HashPasswordInput,
  OWASP_ARGON2ID,
  PASSWORD_TASK_URL,
  type VerifyPasswordInput,
  type VerifyPasswordResult,
} from "./password-params.ts";
import { createUserDirectory, normalizeEmail, type UserDirectory } from "./user-directory.ts";
import { withValidation } from "../../mesh/validation/index.ts";

/** Options of {@link createIdentityService}. */
export interface IdentityServiceOptions {
  /** Runs the password hashing task off the event loop. Required. */
  readonly compute: ComputePool;
  /** Signs and verifies access tokens. Required. */
  readonly tokens: AccessTokens;
  /** Where users live. Default: a new in-memory directory; for replicas `createRedisUserDirectory({ redis, keyPrefix })`. */
  readonly users?: UserDirectory;
  /** Argon2id cost of new hashes; a stored hash of another cost (or a legacy scrypt one) is replaced at the next sign-in. Default OWASP's m=19 MiB, t=2. */
  readonly passwordParams?: Argon2Params;
  /** Current time. Default `() => new Date()`. */
  readonly now?: () => Date;
  /** Passwords refused for new accounts, lower-cased. Default: the shipped 10,000 most common (common-passwords.txt). */
  readonly blockedPasswords?: ReadonlySet<string>;
}
/** Display name length bound (characters). */
export const MAX_DISPLAY_NAME_LENGTH = 64;
/** Same message for an unknown email and a wrong password, so Login does not reveal who has an account. */
const BAD_CREDENTIALS = "email or password is incorrect";

/** Builds the IdentityService handlers: Register, Login, WhoAmI and GetPublicKeys. */
export function createIdentityService(options: IdentityServiceOptions): ServiceImpl<typeof IdentityService> {
  requireOptions(options, "compute", "tokens");
  const { compute, tokens } = options;
  const users = options.users ?? createUserDirectory();
  const params = options.passwordParams ?? OWASP_ARGON2ID;
  try {
    checkArgon2Params(params, "options.passwordParams");
  } catch (err) {
    throw new ShopOptionsError((err as Error).message);
  }
  const now = options.now ?? (() => new Date());
  const blockedPasswords = options.blockedPasswords ?? loadPasswordBlocklist();
  const jwksJson = JSON.stringify(tokens.jwks);

  const hash = (password: string, signal: AbortSignal) =>
    compute.run<string>(PASSWORD_TASK_URL, "hashPassword", { password, salt: randomBytes(16), params } satisfies HashPasswordInput, { signal });
  const verify = (password: string, encoded: string, signal: AbortSignal) =>
    compute.run<VerifyPasswordResult>(PASSWORD_TASK_URL, "verifyPassword", { password, encoded, params } satisfies VerifyPasswordInput, { signal });

  // Verifying against this hash when the email is unknown makes Login take as long as for a real user.
  let decoyHash: Promise<string> | undefined;
  const decoy = (signal: AbortSignal) => (decoyHash ??= hash(randomUUID(), signal).catch((err) => {
    decoyHash = undefined;
    throw err;
  }));

  // Email format, password and display-name lengths are the contract's rules, checked before a handler runs.
  return withValidation(IdentityService, {
    async register(req, ctx) {
      const email = normalizeEmail(req.email);
      checkNewPassword(req.password, blockedPasswords);
      const displayName = req.displayName.trim();
      // The hash comes before the email check, for a taken email too: an answer that came back faster
      // for a taken email would tell a stranger who has an account (the answer itself still does; see docs/shop.md).
      const passwordHash = await hash(req.password, ctx.signal);
      const user = create(UserSchema, { id: randomUUID(), email, displayName, createdAt: timestampFromDate(now()) });
      await users.add({ user, passwordHash });
      const issued = await tokens.sign(user.id);
      return { user, accessToken: issued.token, expiresAt: timestampFromDate(issued.expiresAt) };
    },

    async login(req, ctx) {
      const record = await users.byEmail(req.email);
      const { ok, rehash } = await verify(req.password, record?.passwordHash ?? (await decoy(ctx.signal)), ctx.signal);
      if (!record || !ok) throw new ConnectError(BAD_CREDENTIALS, Code.Unauthenticated);
      // An older hash (scrypt, or a lower cost) is replaced now that the password is known; a failure
      // here keeps the old hash, which still verifies, and does not fail the sign-in.
      if (rehash) await hash(req.password, ctx.signal).then((fresh) => users.setPasswordHash(record.user.id, fresh)).catch(() => {});
      const issued = await tokens.sign(record.user.id);
      return { accessToken: issued.token, expiresAt: timestampFromDate(issued.expiresAt), user: record.user };
    },

    async whoAmI(_req, ctx) {
      return { user: await authenticate(ctx.requestHeader) };
    },

    async getPublicKeys() {
      return { jwksJson };
    },
  });

  async function authenticate(headers: Headers): Promise<User> {
    const userId = await tokens.verify(bearerToken(headers));
    const record = await users.byId(userId);
    if (!record) throw new ConnectError("access token names an unknown user", Code.Unauthenticated);
    return record.user;
  }
}
