// Weft's client transport calling Weft's host. Until mesh/transport exists this reports the scenario as
// not available.

import { existsSync } from "node:fs";

const entry = new URL("../../mesh/transport/index.ts", import.meta.url);
const reason = existsSync(entry) ? "mesh/transport exists but the bench does not drive it yet" : "mesh/transport/index.ts does not exist yet";
process.stdout.write(`${JSON.stringify({ unavailable: reason })}\n`);
