import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password-task.ts";

const salt = new Uint8Array(16).fill(7);

describe("password task (scrypt)", () => {
  it("verifies the right password and rejects a wrong one", () => {
    const encoded = hashPassword({ password: "correct horse", salt, costLog2: 10 });
    expect(encoded).toMatch(/^scrypt\$10\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(encoded).not.toContain("correct horse");
    expect(verifyPassword({ password: "correct horse", encoded })).toBe(true);
    expect(verifyPassword({ password: "correct horsf", encoded })).toBe(false);
  });

  it("is deterministic for a salt, and differs across salts", () => {
    const a = hashPassword({ password: "pw-123456", salt, costLog2: 10 });
    expect(hashPassword({ password: "pw-123456", salt, costLog2: 10 })).toBe(a);
    expect(hashPassword({ password: "pw-123456", salt: new Uint8Array(16).fill(8), costLog2: 10 })).not.toBe(a);
  });

  it("treats a malformed hash as a mismatch and refuses bad parameters", () => {
    expect(verifyPassword({ password: "x", encoded: "" })).toBe(false);
    expect(verifyPassword({ password: "x", encoded: "scrypt$99$8$1$AAAA$BBBB" })).toBe(false);
    expect(verifyPassword({ password: "x", encoded: "bcrypt$10$8$1$AAAA$BBBB" })).toBe(false);
    expect(() => hashPassword({ password: "x", salt: new Uint8Array(4), costLog2: 10 })).toThrow(/salt/);
    expect(() => hashPassword({ password: "x", salt, costLog2: 3 })).toThrow(/costLog2/);
  });
});
