// Who called: the service a mesh client named in its header, else the service whose handler made the
// call in this process (in-process transport), else the workload of a verified peer certificate.

import { requestHeaderValue } from "../engine/index.ts";
import type { CallHookContext } from "../host/index.ts";
import { CALLER_HEADER, currentInboundCall } from "../resilience/index.ts";
import { parseWorkloadId } from "../security/index.ts";

/** Longest caller name kept (a header is the caller's to write). */
const MAX_CALLER_LENGTH = 128;

/** The calling service of a call, or "" when unknown; RedRecorderOptions.callerOf. */
export function callerOf(context: CallHookContext): string {
  const named = requestHeaderValue(context, CALLER_HEADER);
  if (named !== undefined) return named.slice(0, MAX_CALLER_LENGTH);
  const inProcess = currentInboundCall()?.serviceName;
  if (inProcess !== undefined) return inProcess;
  const peer = (context as { peerIdentity?: string }).peerIdentity;
  return peer === undefined ? "" : (parseWorkloadId(peer)?.service ?? "");
}
