// Weft's host serving TestService. Until mesh/host exists this reports the scenario as not available.
//
// Usage: node bench/servers/weft.ts --mode h2|h1

import { existsSync } from "node:fs";
import { announceUnavailable, parseMode } from "./child-protocol.ts";

parseMode(process.argv);
const hostEntry = new URL("../../mesh/host/index.ts", import.meta.url);
if (!existsSync(hostEntry)) announceUnavailable("mesh/host/index.ts does not exist yet");
announceUnavailable("mesh/host exists but the bench does not drive it yet");
