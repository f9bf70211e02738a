// `--help` on every entry point (issue 18): exit 0, and every flag and environment variable the script
// parses (read from its source and the config readers it uses) named in the help. Every .ts file in the
// folders below is either an entry point or a module listed here, so a new script cannot go unchecked.

import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Folders whose .ts files are entry points unless listed in MODULES; test files are skipped. */
const FOLDERS = ["scripts", "bench", "bench/mesh", "bench/backends", "bench/telemetry", "bench/servers", "bench/clients", "bench/fixtures", "bench/ops", "bench/validation", "bench/edge", "bench/recommendations"];
/** Files in FOLDERS that are imported, not run. */
const MODULES = new Set([
  "bench/telemetry/modes.ts",
  "bench/telemetry/telemetry-setup.ts",
  "bench/servers/child-protocol.ts",
  "bench/servers/weft-security.ts",
  "bench/clients/drive.ts",
  "scripts/mesh-nats.ts",
  "scripts/proto-source.ts",
  "bench/recommendations/evaluate.ts",
  "bench/recommendations/synthetic-orders.ts",
]);
/** Entry points outside FOLDERS. */
const MORE = ["services/start.ts", "test/conformance/run-conformance.ts", ...["catalog", "gateway", "identity", "inventory", "orders", "recommendations"].map((s) => `services/${s}/main.ts`)];

const TELEMETRY_READERS = ["mesh/telemetry/tracing-config.ts", "mesh/telemetry/metrics-config.ts", "mesh/engine/logger.ts"];

/** The files whose flags and variables an entry point's help must cover: its own, and the readers it calls. */
function sourcesOf(script: string, source: string): { files: string[]; notFlags: string[] } {
  const files = [script];
  const notFlags: string[] = [];
  if (source.includes("readDriveArgs(")) files.push("bench/clients/drive.ts");
  if (source.includes("readServerMode(")) files.push("bench/servers/child-protocol.ts");
  if (source.includes("parseOptions(")) {
    files.push("bench/lib/options.ts");
    if (source.includes("TELEMETRY_FLAGS")) notFlags.push("profile", "render");
  }
  if (source.includes("beginServiceMain(")) files.push("mesh/node/node-config.ts", ...TELEMETRY_READERS);
  if (source.includes("readStartConfig(")) files.push("services/start-config.ts", ...TELEMETRY_READERS);
  return { files, notFlags };
}

function entryPoints(): string[] {
  const found = FOLDERS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
      .map((e) => `${dir}/${e.name}`),
  );
  return [...found.filter((f) => !MODULES.has(f)), ...MORE];
}

/** Flag names declared in command specs (`name: { type: "string", ..., description: ... }`). */
function declaredFlags(source: string): string[] {
  return [...source.matchAll(/["']?([a-z][a-z0-9-]*)["']?\s*:\s*\{\s*type:\s*"(?:string|boolean)"[^{}]*\bdescription:/g)].map((m) => m[1]);
}

/** Variables a script passes through or extends rather than reads as a setting. */
const NOT_SETTINGS = new Set(["PATH"]);

/** Environment variables read (`process.env.X`, `env.X`, `env["X"]`, `int(env, "X"`). */
function readVariables(source: string): string[] {
  const names = [
    ...source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g),
    ...source.matchAll(/\benv\[["']([A-Z][A-Z0-9_]+)["']\]/g),
    ...source.matchAll(/\bint\(env, "([A-Z][A-Z0-9_]+)"/g),
  ].map((m) => m[1]);
  return [...new Set(names)];
}

function help(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, "--help"], { cwd: ROOT, timeout: 60_000, env: { ...process.env, LOG_LEVEL: "" } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

describe.concurrent("--help on every entry point", () => {
  const scripts = entryPoints();

  it("finds the entry points", () => {
    expect(scripts.length).toBeGreaterThan(30);
    expect(scripts).toContain("scripts/start-distributed.ts");
  });

  it.each(scripts)("%s: --help exits 0 and names every flag and variable it reads", { timeout: 60_000 }, async (script) => {
    const source = readFileSync(join(ROOT, script), "utf8");
    // All parsing goes through parseArgs specs, so the help is written from what is parsed.
    expect(source, "reads process.argv by hand").not.toMatch(/process\.argv\.(indexOf|includes|find)|process\.argv\[[2-9]\]|argv\.slice\(2\)\.(map|filter)/);
    expect(source, "calls parseArgs without a spec that writes the help").not.toMatch(/\bparseArgs\(/);
    const { files, notFlags } = sourcesOf(script, source);
    const texts = files.map((f) => readFileSync(join(ROOT, f), "utf8"));
    const { code, stdout, stderr } = await help(script);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^Usage: /);
    for (const flag of texts.flatMap(declaredFlags).filter((f) => !notFlags.includes(f))) {
      expect(stdout, `${script} --help names --${flag}`).toMatch(new RegExp(`--${flag}\\b`));
    }
    for (const variable of texts.flatMap(readVariables).filter((v) => !NOT_SETTINGS.has(v))) {
      expect(stdout, `${script} --help names ${variable}`).toMatch(new RegExp(`\\b${variable}\\b`));
    }
  });

  it("an unknown flag is one WEFT_ERR_STARTUP line and exit 1", async () => {
    const outcome = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ["services/catalog/main.ts", "--bogus"], { cwd: ROOT, timeout: 60_000, env: { ...process.env, LOG_LEVEL: "" } }, (err, _o, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stderr });
      });
    });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr.trim()).toMatch(/^WEFT_ERR_STARTUP: unknown flag --bogus; --help lists the flags/);
    expect(outcome.stderr.trim().split("\n")).toHaveLength(1);
  });
});
