// The load driver of `npm run bench:shop`: autocannon (programmatic) against one of the shop's calls,
// every response body checked by the call's verifier; prints one JSON line with the counts and latencies.
// The warm-up is one-second runs, checked like the measured one, until the req/s stop rising
// (bench/lib/steady-state.ts), at least `warmupSeconds` and at most `maxWarmupSeconds`.
// Usage: node bench/shop/load.ts '<LoadSpec as JSON>'   (started by bench/shop/run.ts on the load core)

import { warmUntilSteady } from "../lib/steady-state.ts";
import { verifierOf, type LoadSpec } from "./calls.ts";

interface AutocannonResult {
  requests: { total: number };
  duration: number;
  latency: { p50: number; p99: number };
  "2xx": number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}
// autocannon ships no types; only what this driver uses is declared.
const autocannon = (await import("autocannon" as string)).default as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
const verify = verifierOf(spec.verify);
let verified = 0;
let shed = 0;
let failed = 0;
let firstFailure: string | undefined;
let n = 0;
// A server refusing under overload (RESOURCE_EXHAUSTED) answered rightly but served nothing: counted apart.
const SHED = /^\{"code":"resource_exhausted"/;
const run = (seconds: number) => autocannon({
  url: spec.url,
  connections: spec.connections,
  pipelining: 1,
  duration: seconds,
  requests: [{
    method: spec.method,
    headers: spec.headers,
    setupRequest: (req: Record<string, unknown>) => ({ ...req, path: spec.paths !== undefined ? spec.paths[n % spec.paths.length] : req.path, body: spec.bodies !== undefined ? spec.bodies[n++ % spec.bodies.length] : (n++, spec.body) }),
  }],
  verifyBody: (body: string) => {
    const problem = verify(body);
    if (problem === undefined) verified++;
    else if (SHED.test(body)) shed++;
    else {
      failed++;
      firstFailure ??= `${problem}: ${body.slice(0, 200)}`;
    }
    return problem === undefined;
  },
});
// The warm-up is checked like the run, then the counts start again.
const warm = spec.warmupSeconds > 0
  ? await warmUntilSteady(async () => {
    const w = await run(Math.min(1, spec.warmupSeconds));
    return w.requests.total / w.duration;
  }, { minMs: spec.warmupSeconds * 1000, maxMs: spec.maxWarmupSeconds * 1000 })
  : undefined;
verified = shed = failed = 0;
firstFailure = undefined;
// Tells the runner the measured run starts now, so the servers' CPU is read over it alone.
console.log(JSON.stringify({ phase: "measure" }));
const result = await run(spec.seconds);
console.log(JSON.stringify({
  requests: result.requests.total,
  seconds: result.duration,
  reqPerSec: result.requests.total / result.duration,
  status2xx: result["2xx"],
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  mismatches: result.mismatches,
  verified,
  shed,
  failed,
  firstFailure,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  ...(warm === undefined ? {} : { warmupMs: warm.warmupMs, ...(warm.steady === undefined ? {} : { steady: warm.steady }) }),
}));
