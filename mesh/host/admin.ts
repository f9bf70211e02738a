// weft.mesh.v1.AdminService: what this host runs and how it is doing.

import type { ServiceImpl } from "@connectrpc/connect";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import type { HostHealth } from "./health.ts";

/** What GetStatus reports, read at call time. */
export interface AdminStatusSource {
  readonly instanceId: string;
  readonly version: string;
  /** The user's services (not the host's own health/reflection/admin). */
  readonly serviceNames: readonly string[];
  readonly health: HostHealth;
  /** Milliseconds since listen() (0 before). */
  uptimeMs(): number;
  inFlight(): number;
  draining(): boolean;
}

/** The AdminService implementation over `source`. */
export function createAdminService(source: AdminStatusSource): ServiceImpl<typeof AdminService> {
  return {
    getStatus() {
      return {
        instanceId: source.instanceId,
        version: source.version,
        services: source.serviceNames.map((name) => ({ name, serving: source.health.get(name) === "SERVING" })),
        uptimeMs: BigInt(Math.max(0, Math.round(source.uptimeMs()))),
        inFlight: source.inFlight(),
        draining: source.draining(),
      };
    },
  };
}

/** The AdminService descriptor, re-exported for the host. */
export { AdminService };
