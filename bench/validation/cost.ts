// What request validation (mesh/validation: protovalidate rules from the contracts) costs per request,
// in CPU microseconds: the benchmark's UnaryCallRequest (16-byte payload) and the shop's larger
// requests, validated in this process, rounds interleaved with an unvalidated baseline of the same
// loop. CPU time (process.cpuUsage) rather than wall time, so other work on the machine moves it less.
// The whole-server view is `npm run bench -- --only grpc/weft,grpc/weft-validated`.
//
// Usage: node bench/validation/cost.ts [--rounds N] [--calls N] [--help]
import { create, type DescMessage } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { CheckoutRequestSchema, SignUpRequestSchema } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { ReserveRequestSchema } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { requestCheck } from "../../mesh/validation/index.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";

const { values } = readCommandLine({
  usage: "npm run bench:validation -- [flags]   (node bench/validation/cost.ts)",
  summary: "CPU microseconds per request to validate the benchmark's UnaryCallRequest and shop requests.",
  flags: {
    rounds: { type: "string", valueName: "N", defaultText: "5", description: "rounds, interleaved with the unvalidated baseline" },
    calls: { type: "string", valueName: "N", defaultText: "200000", description: "validations per round" },
  },
});
const rounds = numberSetting("--rounds", values.rounds, 5, { min: 1, integer: true });
const calls = numberSetting("--calls", values.calls, 200_000, { min: 1, integer: true });

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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${rounds} rounds x ${calls} calls, interleaved with a baseline loop; CPU µs per call (median of rounds, range)`);
for (const [name, schema, message] of CASES) {
  const check = requestCheck(schema, validator)!;
  let sink = 0;
  const baseline = (m: unknown) => void (sink += m === undefined ? 0 : 1);
  const validated = (m: unknown) => (check(m), void (sink += 1));
  for (let i = 0; i < 10_000; i++) (baseline(message), validated(message));
  const base: number[] = [];
  const withRules: number[] = [];
  for (let r = 0; r < rounds; r++) {
    base.push(cpuMicros(() => { for (let i = 0; i < calls; i++) baseline(message); }) / calls);
    withRules.push(cpuMicros(() => { for (let i = 0; i < calls; i++) validated(message); }) / calls);
  }
  const cost = withRules.map((w, i) => w - base[i]);
  console.log(`${name.padEnd(45)} ${median(cost).toFixed(2)} µs (${Math.min(...cost).toFixed(2)}-${Math.max(...cost).toFixed(2)})${sink < 0 ? "" : ""}`);
}
