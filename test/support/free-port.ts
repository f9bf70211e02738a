// A loopback port that was free a moment ago, for programs that cannot report the port they bound
// (Jaeger, Prometheus). Another process may take it in between: prefer port 0 wherever a server
// reports what it got.

export { candidatePort as freePort } from "../../scripts/cluster/loopback-process.ts";
