import { readFile } from "node:fs/promises";

/** Reads the committed starting stock (stock.json beside this file): product id -> available units. */
export async function loadSeedStock(): Promise<Array<[string, number]>> {
  const text = await readFile(new URL("./stock.json", import.meta.url), "utf8");
  return Object.entries(JSON.parse(text) as Record<string, number>);
}
