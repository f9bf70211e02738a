import { scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashPassword, OWASP_ARGON2ID, verifyPassword } from "./password-task.ts";

const salt = new Uint8Array(16).fill(7);
const cheap = { memoryKiB: 1024, passes: 1 };

/** A hash in the format earlier versions stored (`scrypt$<log2 N>$<r>$<p>$<salt>$<key>`), made with node:crypto directly. */
function legacyScryptHash(password: string, costLog2 = 10): string {
  const key = scryptSync(password.normalize("NFKC"), salt, 32, { N: 2 ** costLog2, r: 8, p: 1 });
  return ["scrypt", costLog2, 8, 1, Buffer.from(salt).toString("base64url"), key.toString("base64url")].join("$");
}

describe("password task (Argon2id, legacy scrypt)", () => {
  it("hashes with Argon2id at OWASP's cost into a PHC string that verifies the right password only", () => {
    const encoded = hashPassword({ password: "correct horse", salt });
    expect(encoded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(encoded).not.toContain("correct horse");
    expect(verifyPassword({ password: "correct horse", encoded })).toEqual({ ok: true, rehash: false });
    expect(verifyPassword({ password: "correct horsf", encoded })).toEqual({ ok: false, rehash: false });
    expect(OWASP_ARGON2ID).toEqual({ memoryKiB: 19456, passes: 2 });
  });

  it("is deterministic for a salt, and differs across salts", () => {
    const a = hashPassword({ password: "pw-123456", salt, params: cheap });
    expect(hashPassword({ password: "pw-123456", salt, params: cheap })).toBe(a);
    expect(hashPassword({ password: "pw-123456", salt: new Uint8Array(16).fill(8), params: cheap })).not.toBe(a);
  });

  it("verifies old scrypt hashes and asks for a rehash only when the password matches", () => {
    const legacy = legacyScryptHash("enigma-1940");
    expect(verifyPassword({ password: "enigma-1940", encoded: legacy })).toEqual({ ok: true, rehash: true });
    expect(verifyPassword({ password: "enigma-1941", encoded: legacy })).toEqual({ ok: false, rehash: false });
  });

  it("asks for a rehash of an Argon2id hash made at another cost", () => {
    const encoded = hashPassword({ password: "pw-123456", salt, params: cheap });
    expect(verifyPassword({ password: "pw-123456", encoded, params: cheap })).toEqual({ ok: true, rehash: false });
    expect(verifyPassword({ password: "pw-123456", encoded })).toEqual({ ok: true, rehash: true });
  });

  it("treats a malformed hash as a mismatch and refuses bad parameters", () => {
    for (const encoded of ["", "scrypt$99$8$1$AAAA$BBBB", "bcrypt$10$8$1$AAAA$BBBB", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$", "$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$BBBB"]) {
      expect(verifyPassword({ password: "x", encoded }), encoded).toEqual({ ok: false, rehash: false });
    }
    expect(() => hashPassword({ password: "x", salt: new Uint8Array(4) })).toThrow(/salt/);
    expect(() => hashPassword({ password: "x", salt, params: { memoryKiB: 8, passes: 1 } })).toThrow(/memoryKiB/);
    expect(() => hashPassword({ password: "x", salt, params: { memoryKiB: 1024, passes: 0 } })).toThrow(/passes/);
  });
});
