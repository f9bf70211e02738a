// Reads policy documents from JSON files (one per workload, kept in the repository beside the service).

import { readFile } from "node:fs/promises";
import { parsePolicy, PolicyError, type PolicyDocument } from "./policy.ts";

/** Reads and checks the shape of each policy file; throws PolicyError naming the file. */
export async function readPolicyFiles(paths: readonly string[], signal?: AbortSignal): Promise<PolicyDocument[]> {
  return Promise.all(
    paths.map(async (path) => {
      let text: string;
      try {
        text = await readFile(path, { encoding: "utf8", signal });
      } catch (err) {
        if ((err as Error).name === "AbortError") throw err;
        throw new PolicyError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new PolicyError(`${path}: not valid JSON (${(err as Error).message})`);
      }
      return parsePolicy(value, path);
    }),
  );
}
