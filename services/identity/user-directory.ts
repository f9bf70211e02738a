import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "../../gen/shop/identity/v1/identity_pb.ts";

/** A user and their password hash (never the password). */
export interface UserRecord {
  readonly user: User;
  readonly passwordHash: string;
}

/** The set of registered users, keyed by id and by normalized email. Pure, in memory. */
export interface UserDirectory {
  byId(id: string): UserRecord | undefined;
  byEmail(email: string): UserRecord | undefined;
  /** Adds a user; ALREADY_EXISTS when the email is taken (checked atomically with the insert). */
  add(record: UserRecord): void;
  /** Number of users. */
  readonly size: number;
}

/** Creates an empty directory. */
export function createUserDirectory(): UserDirectory {
  const ids = new Map<string, UserRecord>();
  const emails = new Map<string, UserRecord>();
  return {
    byId: (id) => ids.get(id),
    byEmail: (email) => emails.get(normalizeEmail(email)),
    add(record) {
      const email = normalizeEmail(record.user.email);
      if (emails.has(email)) throw new ConnectError(`a user with email ${email} already exists`, Code.AlreadyExists);
      if (ids.has(record.user.id)) throw new ConnectError(`a user with id ${record.user.id} already exists`, Code.AlreadyExists);
      ids.set(record.user.id, record);
      emails.set(email, record);
    },
    get size() {
      return ids.size;
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
