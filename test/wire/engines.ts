// The wire engines the wire suite runs against. To run the suite against another engine, add it here
// (or set WEFT_WIRE_ENGINES=name,name to choose among these).

import { connectNodeEngine, type WireEngine } from "../../mesh/host/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";

/** Every engine known to the wire suite, by name. */
export const allEngines: readonly WireEngine[] = [connectNodeEngine, createWeftEngine()];

/** The engines this run tests: WEFT_WIRE_ENGINES (comma-separated names) or all of them. */
export const engines: readonly WireEngine[] = (() => {
  const wanted = process.env.WEFT_WIRE_ENGINES?.split(",").map((s) => s.trim()).filter(Boolean);
  if (wanted === undefined || wanted.length === 0) return allEngines;
  return wanted.map(engineByName);
})();

/** The engine named `name`; throws listing the known names otherwise. */
export function engineByName(name: string): WireEngine {
  const engine = allEngines.find((e) => e.name === name);
  if (engine === undefined) {
    throw new Error(`unknown wire engine ${JSON.stringify(name)}; known: ${allEngines.map((e) => e.name).join(", ")}`);
  }
  return engine;
}
