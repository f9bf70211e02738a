// What request validation (mesh/validation: protovalidate rules from the contracts) costs per request,
// in CPU microseconds: the benchmark's UnaryCallRequest (16-byte payload) and the shop's larger
// requests, validated in this process, rounds interleaved with an unvalidated baseline of the same
// loop. CPU time (process.cpuUsage) rather than wall time, so other work on the machine moves it less.
// The whole-server view is `npm run bench -- --only grpc/weft,grpc/weft-validated`. Each case first
// validates in short windows until its CPU µs per call stop falling (bench/lib/steady-state.ts); both
// cores' speed is probed around every round, and rounds in a slow spell leave the medians.
//
// Usage: node bench/validation/cost.ts [--rounds N] [--calls N] [--warmup S] [--max-warmup S] [--help]
import { create, type DescMessage } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { CheckoutRequestSchema, SignUpRequestSchema } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { ReserveRequestSchema } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { loadRequestCheck } from "../../mesh/validation/index.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { median } from "../lib/stats.ts";
import { describeWarmUp, stoppedFalling, warmUntil } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";

// Each case's warm-up: at least 1 s, then until its CPU µs per call stop falling, at most 10 s.
const WARM_UP = { minS: 1, maxS: 10, until: "the CPU µs per validation stop falling" };

const { values } = readCommandLine({
  usage: "npm run bench:validation -- [flags]   (node bench/validation/cost.ts)",
  summary: "CPU microseconds per request to validate the benchmark's UnaryCallRequest and shop requests.",
  flags: {
    rounds: { type: "string", valueName: "N", defaultText: "5", description: "rounds, interleaved with the unvalidated baseline" },
    calls: { type: "string", valueName: "N", defaultText: "200000", description: "validations per round" },
    ...warmUpFlags(WARM_UP),
  },
});
const roundsWanted = numberSetting("--rounds", values.rounds, 5, { min: 1, integer: true });
const calls = numberSetting("--calls", values.calls, 200_000, { min: 1, integer: true });
const warmUp = warmUpBounds(values, WARM_UP, false);

const CASES: ReadonlyArray<readonly [string, DescMessage, unknown]> = [
  ["weft.testing.v1.UnaryCallRequest (bench)", UnaryCallRequestSchema, create(UnaryCallRequestSchema, { responseSize: 16, payload: { body: new Uint8Array(16) } })],
  ["shop.gateway.v1.SignUpRequest", SignUpRequestSchema, create(SignUpRequestSchema, { email: "ada@example.com", password: "analytical-engine", displayName: "Ada" })],
  ["shop.gateway.v1.CheckoutRequest (3 items)", CheckoutRequestSchema, create(CheckoutRequestSchema, { items: [1, 2, 3].map((i) => ({ productId: `prod-000${i}`, quantity: i })) })],
  ["shop.inventory.v1.ReserveRequest (3 items)", ReserveRequestSchema, create(ReserveRequestSchema, { reservationId: "r-1", items: [1, 2, 3].map((i) => ({ productId: `prod-000${i}`, quantity: i })) })],
];

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const validator = createValidator();
const { requestCheck } = await loadRequestCheck();
/** One round: CPU µs per call of the baseline loop and of the validated one, and the cores' probes around both. */
interface Round { readonly base: number; readonly withRules: number; readonly probe?: RunProbes }
const cases: { name: string; rounds: Round[]; warmUp: string }[] = [];
for (const [name, schema, message] of CASES) {
  const check = requestCheck(schema, validator)!;
  let sink = 0;
  const baseline = (m: unknown) => void (sink += m === undefined ? 0 : 1);
  const validated = (m: unknown) => (check(m), void (sink += 1));
  for (let i = 0; i < 10_000; i++) baseline(message);
  const windowCalls = Math.max(1, Math.min(calls, 20_000));
  const warm = await warmUntil(async () => cpuMicros(() => { for (let i = 0; i < windowCalls; i++) validated(message); }) / windowCalls, (us) => stoppedFalling(us), warmUp);
  const rounds: Round[] = [];
  for (let r = 0; r < roundsWanted; r++) {
    const { value, probe } = await betweenProbes(async () => ({
      base: cpuMicros(() => { for (let i = 0; i < calls; i++) baseline(message); }) / calls,
      withRules: cpuMicros(() => { for (let i = 0; i < calls; i++) validated(message); }) / calls,
    }));
    rounds.push({ ...value, ...(probe === undefined ? {} : { probe }) });
  }
  cases.push({ name: `${name}${sink < 0 ? "" : ""}`, rounds, warmUp: describeWarmUp(warm, "still falling") });
}
// Rounds in a slow spell of either core (this process is not pinned) leave the medians.
const slow = slowRunFilter(cases.flatMap((c) => c.rounds), (r) => r.probe);
console.log(`${roundsWanted} rounds x ${calls} calls, interleaved with a baseline loop; CPU µs per call (median of rounds, range)`);
console.log(slow.note(cases.map((c) => c.rounds)));
for (const c of cases) {
  const cost = slow.counted(c.rounds).map((r) => r.withRules - r.base);
  const marks = c.rounds.filter(slow.isSlow).length;
  console.log(`${c.name.padEnd(45)} ${median(cost).toFixed(2)} µs (${Math.min(...cost).toFixed(2)}-${Math.max(...cost).toFixed(2)}), warm-up ${c.warmUp}${marks > 0 ? `, ${marks} slow-core round(s)` : ""}`);
}
