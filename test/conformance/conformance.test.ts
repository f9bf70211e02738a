// The Connect conformance suite (connectrpc/conformance v1.0.5) against Weft's server (mesh/host with
// Weft's engine) and Weft's client transports: every case must pass; known-failing.txt lists any that
// cannot yet, with the reason.

import { describe, expect, it } from "vitest";
import { runConformance } from "./run-conformance.ts";

/** The runner's own deadline; vitest's is a little longer so the runner's message wins. */
const RUN_TIMEOUT_MS = 12 * 60_000;

describe("Connect conformance suite", () => {
  for (const mode of ["server", "client"] as const) {
    it(`${mode}: every case passes`, async () => {
      const r = await runConformance(mode, { timeoutMs: RUN_TIMEOUT_MS });
      console.log(`conformance ${mode}: ${r.total} cases, ${r.passed} passed, ${r.failed} failed in ${(r.elapsedMs / 1000).toFixed(1)} s` + (r.retried > 0 ? ` (${r.retried} re-run: their server missed the runner's 10 s start)` : ""));
      expect(r.failures.slice(0, 40), `${r.failed} of ${r.total} cases failed`).toEqual([]);
      expect(r.failed).toBe(0);
      expect(r.passed).toBe(r.total);
    }, RUN_TIMEOUT_MS + 30_000);
  }
});
