// The Weft bench server's mTLS and authorization, as a mesh workload has them: the workload's
// credentials from a folder (mesh/security createWorkloadTls, hostTlsOptions) and, when asked, the
// authorization hooks compiled from a policy that lets the bench client call TestService.

import { join } from "node:path";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import type { HostTlsOptions, ServerCallHooks } from "../../mesh/host/index.ts";
import { compilePolicies, createAuthorization, createEndUserVerifier, createWorkloadTls, hostTlsOptions, parsePolicy } from "../../mesh/security/index.ts";
import { BENCH_CLIENT, BENCH_SERVER, BENCH_TRUST_DOMAIN } from "../lib/mtls.ts";

/** What the server adds to its host options. */
export interface BenchSecurity {
  readonly tls: HostTlsOptions;
  readonly callHooks: readonly ServerCallHooks[];
  /** For the report's server detail. */
  readonly detail: string;
  close(): void;
}

/** Loads `bench-server`'s credentials from `dir`; with `authorize`, the hooks of a one-rule policy. */
export async function benchSecurity(dir: string, authorize: boolean): Promise<BenchSecurity> {
  const workload = await createWorkloadTls({ trustDomain: BENCH_TRUST_DOMAIN, dir: join(dir, BENCH_SERVER), service: BENCH_SERVER });
  let callHooks: ServerCallHooks[] = [];
  if (authorize) {
    const policies = [
      parsePolicy({ workload: BENCH_SERVER, serves: [TestService.typeName], rules: [{ effect: "allow", methods: [`${TestService.typeName}/*`], callers: [BENCH_CLIENT] }] }, "bench-server policy"),
      parsePolicy({ workload: BENCH_CLIENT, serves: [], rules: [] }, "bench-client policy"),
    ];
    const table = compilePolicies(policies, { trustDomain: BENCH_TRUST_DOMAIN, services: [TestService] });
    const verifier = createEndUserVerifier(() => workload.current().cas, BENCH_TRUST_DOMAIN);
    callHooks = [createAuthorization({ table, verifier }).hooks];
  }
  return {
    tls: hostTlsOptions(workload),
    callHooks,
    detail: `TLS 1.3, client certificate required${authorize ? ", authorization hooks" : ""}`,
    close: () => workload.close(),
  };
}
