// Server RPC metrics as host call hooks: count, latency and in-flight per (service, method, code),
// recorded where the engine admits and ends a call, on its direct path (no interceptor).

import type { ConnectError } from "@connectrpc/connect";
import type { ServerCallHooks } from "../engine/index.ts";
import type { Metrics } from "./metrics.ts";
import type { CallToken } from "./metrics-rpc.ts";

/** Creates the hooks that record `metrics.rpcServer`. Put them first, so a refused call is counted with its code. */
export function createServerMetricsHooks(metrics: Metrics): ServerCallHooks {
  const server = metrics.rpcServer;
  return {
    begin(service, context): CallToken {
      return server.method(service, context.method).begin();
    },
    end(token, error: ConnectError | undefined) {
      const t = token as CallToken;
      t.metrics.end(t, error);
    },
  };
}
