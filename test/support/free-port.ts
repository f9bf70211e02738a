// A loopback port that was free a moment ago, for programs that cannot report the port they bound
// (Jaeger, Prometheus). Another process may take it in between: prefer port 0 wherever a server
// reports what it got. The one implementation lives beside the cluster starters.

export { freePort } from "../../scripts/cluster/spawn-ready.ts";
