// The admin API reports the streams this instance publishes to and consumes from (the topology's event
// edges), as the mesh node's extension says at call time.

import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { AdminService, EventFlowDirection } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { createHost, silentLogger } from "./index.ts";

describe("AdminService: event flows", () => {
  it("GetInstance carries each flow with its direction and count, read at each call", async () => {
    const flows: { stream: string; eventType: string; direction: "publish" | "consume"; consumer: string; messages: number }[] = [];
    const host = createHost({ port: 0, logger: silentLogger, instanceId: "a", admin: { eventFlows: () => flows } });
    const { url } = await host.listen();
    try {
      const admin = createClient(AdminService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
      expect((await admin.getInstance({})).instance?.eventFlows).toEqual([]);
      flows.push({ stream: "SHOP_EVENTS", eventType: "shop.events.v1.OrderPlaced", direction: "consume", consumer: "reservations", messages: 0 });
      flows.push({ stream: "SHOP_EVENTS", eventType: "shop.events.v1.StockChanged", direction: "publish", consumer: "", messages: 3 });
      const got = (await admin.getInstance({})).instance!.eventFlows.map((f) => ({ stream: f.stream, eventType: f.eventType, direction: f.direction, consumer: f.consumer, messages: f.messages }));
      expect(got).toEqual([
        { stream: "SHOP_EVENTS", eventType: "shop.events.v1.OrderPlaced", direction: EventFlowDirection.CONSUME, consumer: "reservations", messages: 0n },
        { stream: "SHOP_EVENTS", eventType: "shop.events.v1.StockChanged", direction: EventFlowDirection.PUBLISH, consumer: "", messages: 3n },
      ]);
    } finally {
      await host.close();
    }
  });
});
