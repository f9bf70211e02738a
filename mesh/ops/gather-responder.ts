// An instance's side of the mesh gathering: answers each GatherRequest with its snapshot and the raw
// per-second figures asked for, so any instance's aggregator can merge the mesh's history.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { GatherReplySchema, GatherRequestSchema, type InstanceSnapshot } from "../../gen/weft/mesh/v1/admin_pb.ts";
import type { RedWindow } from "../telemetry/index.ts";
import { gatherSubject } from "./gather-subject.ts";

/** Seconds one reply may carry, whatever the request asks. */
const MAX_SECONDS_PER_REPLY = 60;

/** Options of {@link startGatherResponder}. */
export interface GatherResponderOptions {
  readonly nc: NatsConnection;
  /** Discovery subject prefix of the mesh. Default "weft.registry". */
  readonly registryPrefix?: string;
  /** This instance's snapshot (the host's `instanceSnapshot`). */
  readonly snapshot: () => InstanceSnapshot;
  /** This instance's RED window. */
  readonly window: RedWindow;
}

/** Answers gatherings until closed. */
export function startGatherResponder(options: GatherResponderOptions): { close(): void } {
  const sub: Subscription = options.nc.subscribe(gatherSubject(options.registryPrefix ?? "weft.registry"), {
    callback: (err, msg) => {
      if (err !== null || !msg.reply) return;
      let from: number;
      let to: number;
      try {
        const request = fromBinary(GatherRequestSchema, msg.data);
        to = Number(request.toUnixS);
        from = Math.max(Number(request.fromUnixS), to - MAX_SECONDS_PER_REPLY + 1);
      } catch {
        return; // not a request we understand
      }
      const seconds = options.window.secondsBetween(from, to);
      msg.respond(toBinary(GatherReplySchema, create(GatherReplySchema, { instance: options.snapshot(), seconds: seconds.map((s) => ({ ...s, buckets: [...s.buckets], unixS: BigInt(s.unixS) })) })));
    },
  });
  return { close: () => sub.unsubscribe() };
}
