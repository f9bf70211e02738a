// Keeps the three homes of the WEFT_ERR_* codes in step: the source that throws them, the registry
// (mesh/errors/codes.ts) and docs/errors.md.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isWeftError, isWeftErrorCode, WeftError, WeftErrorCodes, WeftOptionsError } from "./index.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SELF = fileURLToPath(import.meta.url);
const REGISTRY_FILE = path.join(ROOT, "mesh/errors/codes.ts");
const SOURCE_EXTENSIONS = /\.(ts|mts|js|mjs|cjs|sh)$/;
const PREFIX = "WEFT_ERR_";
// Built from parts so this file holds no code literal of its own.
const CODE = new RegExp(`${PREFIX}[A-Z0-9_]+`, "g");

/** A file's text keyed by its path relative to the repository root. */
type Sources = ReadonlyMap<string, string>;

/** Codes named in `text`; a match ending in "_" (e.g. a family written `..._HOST_*`) is a prefix, not a code. */
function codesIn(text: string): Set<string> {
  return new Set([...text.matchAll(CODE)].map((m) => m[0]).filter((c) => !c.endsWith("_")));
}

/** Everything that disagrees between the sources, the registry and the docs page, as readable lines. */
function codeProblems(sources: Sources, registry: readonly string[], docs: string): string[] {
  const problems: string[] = [];
  const registered = new Set(registry);
  const documented = codesIn(docs);
  const inSource = new Set<string>();
  const usedByRuntime = new Set<string>();
  for (const [file, text] of sources) {
    const isTest = /\.test\.[a-z]+$/.test(file);
    for (const code of codesIn(text)) {
      inSource.add(code);
      if (!documented.has(code)) problems.push(`${file}: ${code} is not documented in docs/errors.md`);
      if (file.startsWith("mesh/") && !registered.has(code)) problems.push(`${file}: ${code} is not in the registry (mesh/errors/codes.ts)`);
      if (file.startsWith("mesh/") && !isTest) usedByRuntime.add(code);
    }
  }
  for (const code of registered) {
    if (!usedByRuntime.has(code)) problems.push(`registry: ${code} is never thrown by mesh/ source`);
  }
  for (const code of documented) {
    if (!registered.has(code) && !inSource.has(code)) problems.push(`docs/errors.md: ${code} no longer exists`);
  }
  return [...new Set(problems)].sort();
}

function readSources(): Sources {
  const out = new Map<string, string>();
  for (const dir of ["mesh", "services", "scripts"]) {
    for (const entry of readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !SOURCE_EXTENSIONS.test(entry.name)) continue;
      const file = path.join(entry.parentPath, entry.name);
      if (file === SELF || file === REGISTRY_FILE || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
      out.set(path.relative(ROOT, file).split(path.sep).join("/"), readFileSync(file, "utf8"));
    }
  }
  return out;
}

describe("WEFT_ERR_* codes", () => {
  it("agree between the source, the registry and docs/errors.md", () => {
    const docs = readFileSync(path.join(ROOT, "docs/errors.md"), "utf8");
    expect(codeProblems(readSources(), Object.keys(WeftErrorCodes), docs)).toEqual([]);
  });

  it("registry entries are codes of the right shape, each with a one-line meaning", () => {
    for (const [code, meaning] of Object.entries(WeftErrorCodes)) {
      expect(code).toMatch(new RegExp(`^${PREFIX}[A-Z0-9]+(_[A-Z0-9]+)*$`));
      expect(meaning.length).toBeGreaterThan(10);
      expect(meaning).not.toContain("\n");
    }
  });

  it("the check reports an undocumented, an unregistered, an unused and a stale code", () => {
    const [a, b, c, d] = ["A_OPTIONS", "B_OPTIONS", "C_OPTIONS", "D_OPTIONS"].map((s) => PREFIX + s);
    const sources: Sources = new Map([
      ["mesh/x/x.ts", `throw new WeftOptionsError("${a}", "x"); // ${b}`],
      ["services/y.ts", `export const Y = "${PREFIX}SHOP_Y"; // see ${PREFIX}HOST_* for the family`],
      ["mesh/x/x.test.ts", `expect(err.code).toBe("${c}")`],
    ]);
    const docs = `| \`${a}\` | ... |\n| \`${c}\` | ... |\n| \`${d}\` | ... |\n`;
    expect(codeProblems(sources, [a, c], docs)).toEqual([
      `docs/errors.md: ${d} no longer exists`,
      `mesh/x/x.ts: ${b} is not documented in docs/errors.md`,
      `mesh/x/x.ts: ${b} is not in the registry (mesh/errors/codes.ts)`,
      `registry: ${c} is never thrown by mesh/ source`,
      `services/y.ts: ${PREFIX}SHOP_Y is not documented in docs/errors.md`,
    ]);
    expect(codeProblems(new Map([["mesh/x/x.ts", `"${a}"`]]), [a], `\`${a}\``)).toEqual([]);
  });
});

describe("error classes", () => {
  it("options errors are TypeErrors carrying their code and class name", () => {
    const err = new WeftOptionsError("WEFT_ERR_CLIENT_OPTIONS", "options.x must be a boolean");
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: "WEFT_ERR_CLIENT_OPTIONS", name: "WeftOptionsError", message: "options.x must be a boolean" });
    expect(isWeftError(err)).toBe(true);
    expect(isWeftError(new TypeError("plain"))).toBe(false);
  });

  it("WeftError keeps the cause and subclasses get their own name", () => {
    class ExampleError extends WeftError {}
    const cause = new Error("EADDRINUSE");
    const err = new ExampleError("WEFT_ERR_HOST_LISTEN", "cannot listen", { cause });
    expect(err).toMatchObject({ code: "WEFT_ERR_HOST_LISTEN", name: "ExampleError", cause });
    expect(err).not.toBeInstanceOf(TypeError);
  });

  it("isWeftErrorCode accepts only registry codes", () => {
    expect(isWeftErrorCode("WEFT_ERR_MESH_CONFIG")).toBe(true);
    expect(isWeftErrorCode(`${PREFIX}NOPE`)).toBe(false);
    expect(isWeftErrorCode("toString")).toBe(false);
  });
});
