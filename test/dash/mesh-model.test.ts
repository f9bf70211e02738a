// The topology's event edges, computed from a mesh snapshot as the page gets it: each instance's event
// flows tied to the services it serves (service -> stream when it publishes, stream -> service when it
// consumes), summed over the instances of a service.

import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EventFlowDirection, MeshSnapshotSchema } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { eventEdgesOf } from "../../web/dashboard/mesh-model.ts";

const ORDERS = "shop.orders.v1.OrderService";
const INVENTORY = "shop.inventory.v1.InventoryService";
const PLACED = "shop.events.v1.OrderPlaced";

describe("eventEdgesOf", () => {
  it("draws publishers into streams and streams into consumers, summed over instances", () => {
    const admin = { name: "weft.mesh.v1.AdminService", serving: true };
    const snapshot = create(MeshSnapshotSchema, {
      instances: [
        { instanceId: "orders-1", services: [{ name: ORDERS, serving: true }, admin], eventFlows: [{ stream: "SHOP_EVENTS", eventType: PLACED, direction: EventFlowDirection.PUBLISH, messages: 7n }] },
        { instanceId: "orders-2", services: [{ name: ORDERS, serving: true }, admin], eventFlows: [{ stream: "SHOP_EVENTS", eventType: PLACED, direction: EventFlowDirection.PUBLISH, messages: 5n }] },
        { instanceId: "inventory-1", services: [{ name: INVENTORY, serving: true }, admin], eventFlows: [{ stream: "SHOP_EVENTS", eventType: PLACED, direction: EventFlowDirection.CONSUME, consumer: "inventory-reservations", messages: 0n }] },
        { instanceId: "quiet", services: [{ name: "shop.catalog.v1.CatalogService", serving: true }] },
      ],
    });
    expect(eventEdgesOf(snapshot)).toEqual([
      { id: `${ORDERS}->stream:SHOP_EVENTS`, source: ORDERS, target: "stream:SHOP_EVENTS", direction: "publish", stream: "SHOP_EVENTS", eventTypes: [PLACED], messages: 12 },
      // A consumer that has seen nothing yet is an edge already: it is subscribed.
      { id: `stream:SHOP_EVENTS->${INVENTORY}`, source: "stream:SHOP_EVENTS", target: INVENTORY, direction: "consume", stream: "SHOP_EVENTS", eventTypes: [PLACED], messages: 0 },
    ]);
  });
});
