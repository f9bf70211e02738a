import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "../../gen/shop/identity/v1/identity_pb.ts";

/** A user and their password hash (never the password). */
export interface UserRecord {
  readonly user: User;
  readonly passwordHash: string;
}

/**
 * Identity's store: registered users, by id and by normalized email. Two implementations keep the same
 * contract (one behaviour suite runs against both): `createUserDirectory` (in memory, one process) and
 * `createRedisUserDirectory` (shared by identity replicas).
 */
export interface UserDirectory {
  byId(id: string): Promise<UserRecord | undefined>;
  /** Looks up by email, compared case-insensitively without surrounding blanks. */
  byEmail(email: string): Promise<UserRecord | undefined>;
  /** Adds a user; ALREADY_EXISTS when the email (or id) is taken, checked atomically with the insert. */
  add(record: UserRecord): Promise<void>;
  /** Replaces a user's password hash (a rehash at sign-in); nothing when the user does not exist. */
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
}

/** The errors both directories raise. */
export const directoryErrors = {
  emailTaken: (email: string) => new ConnectError(`a user with email ${email} already exists`, Code.AlreadyExists),
  idTaken: (id: string) => new ConnectError(`a user with id ${id} already exists`, Code.AlreadyExists),
};

/** Creates an empty in-memory directory (the embedded default of `npm start`; one process only). */
export function createUserDirectory(): UserDirectory {
  const ids = new Map<string, UserRecord>();
  const emails = new Map<string, UserRecord>();
  return {
    byId: async (id) => ids.get(id),
    byEmail: async (email) => emails.get(normalizeEmail(email)),
    async add(record) {
      const email = normalizeEmail(record.user.email);
      if (emails.has(email)) throw directoryErrors.emailTaken(email);
      if (ids.has(record.user.id)) throw directoryErrors.idTaken(record.user.id);
      ids.set(record.user.id, record);
      emails.set(email, record);
    },
    async setPasswordHash(id, passwordHash) {
      const record = ids.get(id);
      if (record === undefined) return;
      const updated = { user: record.user, passwordHash };
      ids.set(id, updated);
      emails.set(normalizeEmail(record.user.email), updated);
    },
  };
}

/** Emails compare case-insensitively, without surrounding blanks. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Longest email accepted (RFC 5321 path limit). */
export const MAX_EMAIL_LENGTH = 254;

/** A pragmatic check: one @, a non-empty local part, a dotted domain, no blanks. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= MAX_EMAIL_LENGTH && /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(email);
}
