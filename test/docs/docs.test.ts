// Keeps README.md and docs/ true (issue 18): the environment variables the code reads and the README's
// tables list the same names; every npm script is in the README's script table; every relative link in
// README.md and docs/ resolves; every `npm run X` shown names a real script.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const README = readFileSync(path.join(ROOT, "README.md"), "utf8");
/** The system's own variables, which the README need not explain. */
const SYSTEM_VARIABLES = new Set(["PATH", "HOME", "NODE_OPTIONS"]);
const SCRIPTS = Object.keys((JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);

/** Files under `dir` (relative to the root) whose names match `pattern`, skipping node_modules. */
function files(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && pattern.test(entry.name) && !file.includes(`${path.sep}node_modules${path.sep}`)) out.push(file);
  }
  return out;
}

/** Environment variables read by `text`: `process.env.X`, `env.X` of a passed-in environment, `int(env, "X", ...)`, and manifest `env: "X"`. */
function variablesRead(text: string): Set<string> {
  const names = new Set<string>();
  for (const re of [/\benv\.([A-Z][A-Z0-9_]*)\b/g, /\benv\[\s*"([A-Z][A-Z0-9_]*)"\s*\]/g, /\b(?:int|port)\(env, "([A-Z][A-Z0-9_]*)"/g, /\benv: "([A-Z][A-Z0-9_]*)"/g]) {
    for (const m of text.matchAll(re)) names.add(m[1]);
  }
  return names;
}

/** The README section under `## heading`, up to the next `## `. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  expect(start, `README section "${heading}"`).toBeGreaterThan(-1);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** Backticked names in the first column of the markdown tables of `text`. */
function firstColumn(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .flatMap((line) => [...line.split("|")[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
}

function markdownFiles(): string[] {
  return [path.join(ROOT, "README.md"), ...files("docs", /\.md$/)];
}

describe("docs agree with the code", () => {
  it("every environment variable read by mesh/, services/, scripts/, bench/ and cli/ is in the README's tables, and every one listed is read", () => {
    const product = new Set<string>();
    for (const dir of ["mesh", "services", "scripts", "bench", "cli"]) {
      for (const file of files(dir, /\.ts$/)) if (!file.endsWith(".test.ts")) for (const name of variablesRead(readFileSync(file, "utf8"))) product.add(name);
    }
    const anywhere = new Set(product);
    for (const file of files("test", /\.ts$/)) for (const name of variablesRead(readFileSync(file, "utf8"))) anywhere.add(name);
    const listed = new Set(firstColumn(section("Environment variables")).flatMap((cell) => cell.split(/\s*\/\s*/)).filter((n) => /^[A-Z][A-Z0-9_]*$/.test(n)));
    expect([...product].filter((n) => !listed.has(n) && !SYSTEM_VARIABLES.has(n)).sort(), "read by the code, missing from the README's tables").toEqual([]);
    expect([...listed].filter((n) => !anywhere.has(n)).sort(), "in the README's tables, read nowhere").toEqual([]);
  });

  it("every npm script is in the README's script table, and the table names only real scripts", () => {
    const table = firstColumn(section("npm scripts")).map((cell) => cell.replace(/^npm (run )?/, ""));
    expect(SCRIPTS.filter((s) => !table.includes(s)).sort(), "scripts missing from the table").toEqual([]);
    expect(table.filter((s) => !SCRIPTS.includes(s)).sort(), "table rows that are no script").toEqual([]);
  });

  it("every `npm run X` in README.md and docs/ names a real script", () => {
    const wrong: string[] = [];
    for (const file of markdownFiles()) {
      for (const m of readFileSync(file, "utf8").matchAll(/\bnpm run ([a-z][a-z0-9:-]*)/g)) {
        if (!SCRIPTS.includes(m[1])) wrong.push(`${path.relative(ROOT, file)}: npm run ${m[1]}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("every relative link in README.md and docs/ resolves", () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
        const local = decodeURIComponent(target.split("#")[0]);
        if (!existsSync(path.resolve(path.dirname(file), local))) broken.push(`${path.relative(ROOT, file)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
