// Public entry of mesh/node: one distributed mesh process (host + discovery + mesh client + load
// shedding + ordered drain), configured from the environment.

export type { ConnectNatsOptions, MeshNode, MeshNodeContext, MeshNodeOptions, NodeService } from "./mesh-node.ts";
export type { StartupTimings } from "./startup-clock.ts";
export { connectNats, nodeService, startMeshNode } from "./mesh-node.ts";
export type { MeshNodeConfig } from "./node-config.ts";
export { MeshConfigError, readMeshNodeConfig, WEFT_ERR_MESH_CONFIG } from "./node-config.ts";
export { MESH_NODE_VARIABLES } from "./node-variables.ts";
