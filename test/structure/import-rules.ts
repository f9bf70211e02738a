// The import rules of the repository, checked over the source text (type-only imports count):
// - outside a mesh folder, mesh/X is imported only through mesh/X/index.ts;
// - a service (services/<a>, or a file at services/ itself) imports services/<b> only through its index.ts;
// - layers import downward only: codec <- engine <- protocol <- host <- node;
// - no import cycle among mesh folders (tests beside the code are leaves and do not count);
// - product folders (mesh/, services/) never import test/ or bench/ (their own *.test.ts may).

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The layers of the runtime, lowest first; a folder may import only its own layer or lower ones. */
export const LAYERS = ["codec", "engine", "protocol", "host", "node"] as const;

const SOURCE = /\.(ts|mts|tsx)$/;
const SKIP_DIRS = new Set(["node_modules", "gen", "dist", ".git", ".tools", "results"]);
const ROOTS = ["mesh", "services", "scripts", "test", "bench", "web"];

/** Every relative module specifier of a file: static imports and re-exports, side-effect and dynamic imports. */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g, /\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g, /^\s*import\s*["'](\.{1,2}\/[^"']+)["']/gm];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** The TypeScript sources under the checked roots, keyed by their path from `root` (forward slashes). */
export function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(rel);
      } else if (SOURCE.test(entry.name) && !rel.startsWith("test/structure/")) {
        // test/structure/ is left out: its fixtures are bad imports written as strings.
        files.set(rel, readFileSync(path.join(root, rel), "utf8"));
      }
    }
  };
  for (const r of ROOTS) {
    try {
      walk(r);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return files;
}

const isTest = (file: string) => /\.test\.tsx?$/.test(file);
/** "mesh/<folder>" of a path inside mesh, else undefined. */
const meshFolder = (file: string) => /^mesh\/([^/]+)\//.exec(file)?.[1];
/** "<folder>" of a path inside services/<folder>/, "" for a file at services/ itself, else undefined. */
function serviceFolder(file: string): string | undefined {
  if (!file.startsWith("services/")) return undefined;
  const rest = file.slice("services/".length);
  return rest.includes("/") ? rest.slice(0, rest.indexOf("/")) : "";
}
const layerOf = (folder: string | undefined) => (folder === undefined ? -1 : (LAYERS as readonly string[]).indexOf(folder));

/** Every broken rule in `files` (path -> source), as readable lines; empty when all hold. */
export function importProblems(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Set<string>>(); // mesh folder -> mesh folders it imports (tests left out)
  for (const [file, source] of files) {
    for (const spec of importSpecifiers(source)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const say = (rule: string) => problems.push(`${file} imports ${target}: ${rule}`);
      const from = meshFolder(file);
      const to = meshFolder(target);
      if (to !== undefined && from !== to && target !== `mesh/${to}/index.ts`) say(`import mesh/${to} through mesh/${to}/index.ts`);
      const fromService = serviceFolder(file);
      const toService = serviceFolder(target);
      if (fromService !== undefined && toService !== undefined && toService !== "" && fromService !== toService && target !== `services/${toService}/index.ts`) {
        say(`import services/${toService} through services/${toService}/index.ts`);
      }
      if ((from !== undefined || fromService !== undefined) && !isTest(file) && /^(test|bench)\//.test(target)) {
        say("product code (mesh/, services/) never imports test/ or bench/");
      }
      if (from !== undefined && to !== undefined && from !== to && !isTest(file)) {
        if (layerOf(from) >= 0 && layerOf(to) > layerOf(from)) say(`layers import downward only (${LAYERS.join(" <- ")})`);
        let set = edges.get(from);
        if (set === undefined) edges.set(from, (set = new Set()));
        set.add(to);
      }
    }
  }
  for (const cycle of folderCycles(edges)) problems.push(`import cycle among mesh folders: ${cycle.join(" -> ")} -> ${cycle[0]}`);
  return problems;
}

/** The strongly connected components of more than one folder (Tarjan), each as a list of folders. */
function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}
