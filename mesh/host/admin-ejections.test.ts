// The admin API reports which endpoints this instance's mesh client has ejected (the dashboard reads
// them across the mesh as "ejected by"), as the mesh node's extension says at call time.

import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { createHost, silentLogger } from "./index.ts";

describe("AdminService: ejected instances", () => {
  it("GetInstance and the mesh snapshot carry the instances the extension names, read at each call", async () => {
    let ejected: string[] = [];
    const host = createHost({ port: 0, logger: silentLogger, instanceId: "a", admin: { ejected: () => ejected } });
    const { url } = await host.listen();
    try {
      const admin = createClient(AdminService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
      expect((await admin.getInstance({})).instance?.ejectedInstances).toEqual([]);
      ejected = ["b", "c"];
      expect((await admin.getInstance({})).instance?.ejectedInstances).toEqual(["b", "c"]);
      const mesh = await admin.getMeshSnapshot({ windowSeconds: 60 });
      expect(mesh.snapshot?.instances.find((i) => i.instanceId === "a")?.ejectedInstances).toEqual(["b", "c"]);
    } finally {
      await host.close();
    }
  });
});
