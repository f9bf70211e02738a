// `npm run sbom`: a CycloneDX SBOM (JSON) of the production dependencies: npm's own `npm sbom` of the
// installed tree, kept to the packages package-lock.json does not mark dev (what `npm ci --omit=dev` and
// the Docker image install). Not `npm sbom --omit dev`: npm 11.19 leaves out production packages that a
// dev tool also depends on (ioredis, @bufbuild/protobuf, @opentelemetry/api among them).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { readCommandLine } from "../mesh/errors/index.ts";

function fail(message: string): never {
  console.error(`WEFT_ERR_STARTUP: ${message}`);
  process.exit(1);
}

const { values } = readCommandLine({
  usage: "npm run sbom -- [flags]   (node scripts/sbom.ts)",
  summary: "Writes a CycloneDX JSON SBOM of the production dependencies (npm sbom, kept to the lockfile's\nnon-dev packages) and prints how many components it lists.",
  flags: { out: { type: "string", valueName: "FILE", defaultText: "sbom.cdx.json at the repository root (git-ignored)", description: "where the SBOM goes" } },
  env: [{ name: "npm_execpath", defaultText: "set by npm run", description: "the npm that runs the script, used for npm sbom" }],
});
const root = resolve(import.meta.dirname, "..");
const out = resolve(values.out ?? `${root}/sbom.cdx.json`);
// Under `npm run`, npm_execpath is the npm that runs the script: use the same one.
const npm = process.env.npm_execpath;
const [command, args] = npm !== undefined && npm.endsWith(".js") ? [process.execPath, [npm]] : ["npm", []];
let text: string;
try {
  text = execFileSync(command, [...args, "sbom", "--sbom-format", "cyclonedx", "--sbom-type", "application"], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"] });
} catch (err) {
  fail(`npm sbom failed (${(err as Error).message.split("\n")[0]}): run npm ci first`);
}
interface Component { "bom-ref": string; name: string; version: string }
interface Bom { bomFormat?: string; metadata?: { component?: { name?: string; "bom-ref"?: string } }; components?: Component[]; dependencies?: { ref: string; dependsOn?: string[] }[] }
const bom = JSON.parse(text) as Bom;
if (bom.bomFormat !== "CycloneDX" || !Array.isArray(bom.components)) fail("npm sbom did not produce a CycloneDX document");
// name@version of every package the lockfile installs in production.
const lock = JSON.parse(readFileSync(`${root}/package-lock.json`, "utf8")) as { packages: Record<string, { version?: string; dev?: boolean }> };
const production = new Set<string>();
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === "" || entry.dev === true) continue;
  production.add(`${path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length)}@${entry.version}`);
}
bom.components = bom.components.filter((c) => production.has(`${c.name}@${c.version}`));
const kept = new Set(bom.components.map((c) => c["bom-ref"]));
const rootRef = bom.metadata?.component?.["bom-ref"];
if (rootRef !== undefined) kept.add(rootRef);
bom.dependencies = bom.dependencies
  ?.filter((d) => kept.has(d.ref))
  .map((d) => ({ ...d, dependsOn: d.dependsOn?.filter((ref) => kept.has(ref)) }));
// npm names the root component after the folder; the package's own name is the stable one.
const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { name: string };
if (bom.metadata?.component !== undefined) bom.metadata.component.name = pkg.name;
writeFileSync(out, JSON.stringify(bom, null, 2) + "\n");
console.log(`CycloneDX SBOM of ${bom.components.length} production components written to ${out}`);
