// Public entry of mesh/ops: what a mesh node adds to its host's AdminService: the mesh-wide aggregator
// over NATS, the instance's answer to it, event stream figures from JetStream, and the RED window as
// admin messages.

export { createMeshAggregator } from "./mesh-aggregator.ts";
export type { MeshAggregator, MeshAggregatorOptions } from "./mesh-aggregator.ts";
export { startGatherResponder } from "./gather-responder.ts";
export type { GatherResponderOptions } from "./gather-responder.ts";
export { gatherSubject } from "./gather-subject.ts";
export { collectReplies } from "./collect-replies.ts";
export type { CollectRepliesOptions } from "./collect-replies.ts";
export { createEventStreamsReader } from "./event-streams.ts";
export { createEventTail, MAX_TAIL_LAST } from "./event-tail.ts";
export { seriesMessages, statsMessages } from "./red-messages.ts";
export { redAdminExtensions } from "./red-admin.ts";
export { callerOf } from "./caller.ts";
export type { RedAdminOptions } from "./red-admin.ts";
