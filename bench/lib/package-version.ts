// Versions of installed packages, for the results (read from node_modules, since some packages do not
// export their package.json).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const nodeModules = fileURLToPath(new URL("../../node_modules/", import.meta.url));

/** The installed version of `name`, or "unknown". */
export function packageVersion(name: string): string {
  try {
    const json = JSON.parse(readFileSync(`${nodeModules}${name}/package.json`, "utf8")) as { version?: unknown };
    return typeof json.version === "string" ? json.version : "unknown";
  } catch {
    return "unknown";
  }
}
