// Sign-in timing: does a wrong password for a real account take as long as any password for an unknown
// email? The shop runs in this process (piscina pool, Argon2id at OWASP's cost, lockout raised out of the
// way); calls go over HTTP as a client would send them, interleaved so load drifts hit both alike.
// Usage: node bench/edge/sign-in-timing.ts [rounds=100]   (npm run bench:sign-in)
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { silentLogger } from "../../mesh/host/index.ts";
import { createSignInThrottle } from "../../services/gateway/index.ts";
import { startInProcessShop } from "../../services/in-process-shop.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";

const { positionals } = readCommandLine({
  usage: "npm run bench:sign-in -- [ROUNDS]   (node bench/edge/sign-in-timing.ts)",
  summary: "Sign-in timing over HTTP: a wrong password against an unknown email, interleaved rounds, medians and p95.",
  flags: {},
  positionals: [{ name: "ROUNDS", description: "interleaved rounds, 1 to 10000 (default 100)" }],
});
const rounds = numberSetting("ROUNDS", positionals[0], 100, { min: 1, max: 10_000, integer: true });

const shop = await startInProcessShop({
  port: 0,
  logger: silentLogger,
  compute: createPiscinaComputePool({ maxQueue: 64 }),
  edge: { signInThrottle: createSignInThrottle({ maxFailures: 1_000_000 }) },
});

async function signIn(email: string, password: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/SignIn`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await response.text();
  return { ms: performance.now() - started, body: `${response.status} ${body}` };
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2);
  return { medianMs: at(0.5), p95Ms: at(0.95), minMs: at(0), maxMs: at(1) };
}

try {
  const email = "timing@example.com";
  const signUp = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/SignUp`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "timing-pass-1234", displayName: "Timing" }),
  });
  if (signUp.status !== 200) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
  // Warm-up: the decoy hash for unknown emails, worker threads, JIT.
  for (let i = 0; i < 5; i++) await Promise.all([signIn(email, "warm-up-wrong"), signIn(`warm${i}@example.com`, "warm-up-wrong")]);
  const wrong: number[] = [];
  const unknown: number[] = [];
  const bodies = new Set<string>();
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, one call at a time.
    const order = i % 2 === 0 ? ["wrong", "unknown"] : ["unknown", "wrong"];
    for (const kind of order) {
      const result = kind === "wrong" ? await signIn(email, `wrong-${i}`) : await signIn(`nobody-${i}@example.com`, `wrong-${i}`);
      (kind === "wrong" ? wrong : unknown).push(result.ms);
      bodies.add(result.body);
    }
  }
  const a = summary(wrong);
  const b = summary(unknown);
  console.log(JSON.stringify({ rounds, hash: "argon2id m=19456 t=2 p=1 (piscina)", wrongPassword: a, unknownEmail: b, medianDiffMs: +(b.medianMs - a.medianMs).toFixed(2), distinctAnswers: [...bodies] }, null, 2));
  if (bodies.size !== 1) process.exitCode = 1;
} finally {
  await shop.close();
}
