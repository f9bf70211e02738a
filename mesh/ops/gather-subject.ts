// The subject of the mesh aggregator's gathering, under the discovery prefix so one mesh shares both.

/** "<registry prefix>.ops.gather" (e.g. "weft.registry.ops.gather"). */
export function gatherSubject(registryPrefix: string): string {
  return `${registryPrefix}.ops.gather`;
}
