import { randomBytes, randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { IdentityService, type User, UserSchema } from "../../gen/shop/identity/v1/identity_pb.ts";
import type { ComputePool } from "../../mesh/compute/index.ts";
import { requireOptions, ShopOptionsError } from "../shared/index.ts";
import { type AccessTokens, bearerToken } from "./access-tokens.ts";
import { checkNewPassword, loadPasswordBlocklist } from "./password-policy.ts";
import { type HashPasswordInput, PASSWORD_TASK_URL, type VerifyPasswordInput } from "./password-task.ts";
import { createUserDirectory, normalizeEmail, type UserDirectory } from "./user-directory.ts";
import { withValidation } from "../../mesh/validation/index.ts";

/** Options of {@link createIdentityService}. */
export interface IdentityServiceOptions {
  /** Runs the scrypt task off the event loop. Required. */
  readonly compute: ComputePool;
  /** Signs and verifies access tokens. Required. */
  readonly tokens: AccessTokens;
  /** Where users live. Default: a new in-memory directory; for replicas `createRedisUserDirectory({ redis, keyPrefix })`. */
  readonly users?: UserDirectory;
  /** log2 of scrypt's cost N for new hashes. Default 14 (N = 16384); tests may lower it to 10. */
  readonly scryptCostLog2?: number;
  /** Current time. Default `() => new Date()`. */
  readonly now?: () => Date;
  /** Passwords refused for new accounts, lower-cased. Default: the shipped 10,000 most common (common-passwords.txt). */
  readonly blockedPasswords?: ReadonlySet<string>;
}
/** Display name length bound (characters). */
export const MAX_DISPLAY_NAME_LENGTH = 64;
/** Same message for an unknown email and a wrong password, so Login does not reveal who has an account. */
const BAD_CREDENTIALS = "email or password is incorrect";

/** Builds the IdentityService handlers: Register, Login and WhoAmI. */
export function createIdentityService(options: IdentityServiceOptions): ServiceImpl<typeof IdentityService> {
  requireOptions(options, "compute", "tokens");
  const { compute, tokens } = options;
  const users = options.users ?? createUserDirectory();
  const costLog2 = options.scryptCostLog2 ?? 14;
  if (!Number.isInteger(costLog2) || costLog2 < 10 || costLog2 > 20) {
    throw new ShopOptionsError("options.scryptCostLog2 must be an integer in [10, 20]");
  }
  const now = options.now ?? (() => new Date());
  const blockedPasswords = options.blockedPasswords ?? loadPasswordBlocklist();

  const hash = (password: string, signal: AbortSignal) =>
    compute.run<string>(PASSWORD_TASK_URL, "hashPassword", { password, salt: randomBytes(16), costLog2 } satisfies HashPasswordInput, { signal });
  const verify = (password: string, encoded: string, signal: AbortSignal) =>
    compute.run<boolean>(PASSWORD_TASK_URL, "verifyPassword", { password, encoded } satisfies VerifyPasswordInput, { signal });

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
      const ok = await verify(req.password, record?.passwordHash ?? (await decoy(ctx.signal)), ctx.signal);
      if (!record || !ok) throw new ConnectError(BAD_CREDENTIALS, Code.Unauthenticated);
      const issued = await tokens.sign(record.user.id);
      return { accessToken: issued.token, expiresAt: timestampFromDate(issued.expiresAt), user: record.user };
    },

    async whoAmI(_req, ctx) {
      return { user: await authenticate(ctx.requestHeader) };
    },
  });

  async function authenticate(headers: Headers): Promise<User> {
    const userId = await tokens.verify(bearerToken(headers));
    const record = await users.byId(userId);
    if (!record) throw new ConnectError("access token names an unknown user", Code.Unauthenticated);
    return record.user;
  }
}
