#!/usr/bin/env node
// The `weft` command (package.json "bin"): Node 24 runs the TypeScript entry by type stripping.
import "../cli/main.ts";
