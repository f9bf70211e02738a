/**
 * Builds the browser page (web/index.html + main.ts, with Connect-Web and the generated gateway
 * client) into static files with Vite, which vitest already brings. Run: node web/build.ts [outDir]
 * (default web/dist). `buildWeb()` is what `npm start` and the browser test call.
 */
import { fileURLToPath } from "node:url";
import { build } from "vite";

/** Where the page's sources live. */
export const WEB_ROOT = fileURLToPath(new URL(".", import.meta.url));
/** Default output folder (git-ignored). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL("./dist", import.meta.url));

/** Builds the page into `outDir` (emptied first) and returns it. */
export async function buildWeb(outDir: string = DEFAULT_OUT_DIR): Promise<string> {
  await build({
    root: WEB_ROOT,
    base: "./",
    logLevel: "warn",
    configFile: false,
    build: { outDir, emptyOutDir: true, target: "es2022", sourcemap: false },
  });
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = await buildWeb(process.argv[2]);
  console.log(`built the web page into ${outDir}`);
}
