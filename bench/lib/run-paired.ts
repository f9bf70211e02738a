// One target of `npm run bench` measured as a pair (paired-slices.ts): both scenarios' servers started
// on the server core, both checked, then the load alternates between them in one-second slices with the
// scenario's own generator (h2load, autocannon or its client driver) on the load core.

import { measurePaired, type PairedMeasurement, type SliceSide } from "./paired-slices.ts";
import { SERVER_CORE, startChild, type StartedServer } from "./processes.ts";
import { BENCH_CLIENT, BENCH_MTLS_ENV, benchPem, ensureBenchCredentials } from "./mtls.ts";
import { childNodeFlags, CLIENT_CONCURRENCY, type RunSettings } from "./run-scenario.ts";
import type { Scenario, Target } from "./scenarios.ts";
import { autocannonSide, clientSide, h2loadSide, type ProcessSide } from "./slice-sides.ts";
import { checkConnectJsonCall, checkGrpcCall } from "./verify.ts";

/** How a target's pair is measured. */
export interface PairSettings {
  readonly pairs: number;
  readonly sliceMs: number;
}

/** Measures `target` as a pair. Never throws: problems end up in the result. */
export async function measureTargetPaired(target: Target, scenarios: readonly Scenario[], settings: RunSettings, pair: PairSettings): Promise<PairedMeasurement> {
  const subject = scenarios.find((s) => s.id === target.subject)!;
  const baseline = scenarios.find((s) => s.id === target.baseline)!;
  const servers: StartedServer[] = [];
  const clients: ProcessSide[] = [];
  const failed = (problems: string[]): PairedMeasurement => ({ pairRatios: [], sliceMs: pair.sliceMs, warmupMs: 0, steady: undefined, problems });
  try {
    const sides: SliceSide[] = [];
    for (const scenario of [subject, baseline]) {
      const mtlsDir = scenario.env?.[BENCH_MTLS_ENV];
      if (mtlsDir !== undefined) await ensureBenchCredentials(mtlsDir);
      const started = await startChild(scenario.server, ["--mode", scenario.mode], SERVER_CORE, childNodeFlags(undefined, ""), scenario.env);
      if (started.kind === "unavailable") return failed([`${scenario.id} not available: ${started.reason}`]);
      servers.push(started);
      const tls = mtlsDir === undefined ? undefined : benchPem(mtlsDir, BENCH_CLIENT);
      const check = scenario.mode === "h2" ? await checkGrpcCall(started.port, tls) : await checkConnectJsonCall(started.port);
      if (check.length > 0) return failed(check.map((p) => `${scenario.id} check before load: ${p}`));
      if (scenario.client !== undefined) {
        const client = await clientSide({ script: scenario.client, port: started.port, serverPid: started.pid, concurrency: CLIENT_CONCURRENCY, nodeFlags: childNodeFlags(undefined, ""), env: scenario.env });
        clients.push(client);
        sides.push(client);
      } else if (scenario.group === "grpc") {
        sides.push(h2loadSide(started.port, started.pid, settings.grpcBodyFile));
      } else {
        const generator = await autocannonSide(started.port, started.pid, childNodeFlags(undefined, ""));
        clients.push(generator);
        sides.push(generator);
      }
    }
    const measured = await measurePaired(sides[0]!, sides[1]!, { sliceMs: pair.sliceMs, pairs: pair.pairs, warmupMs: settings.warmupS * 1000, maxWarmupMs: settings.maxWarmupS * 1000 });
    const exited = [subject, baseline].filter((_, i) => servers[i]!.exited()).map((s) => `${s.id}'s server exited during the load`);
    return exited.length > 0 ? { ...measured, ratio: undefined, problems: [...measured.problems, ...exited] } : measured;
  } catch (error) {
    return failed([String((error as Error).message ?? error)]);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  }
}
