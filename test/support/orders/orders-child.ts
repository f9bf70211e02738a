// A separate orders process for crash and concurrency tests (run with node):
//   place <DATABASE_URL> <userId>  commits one order with its OrderPlaced outbox row, prints
//                                   "committed <orderId>", then waits to be killed (no relay runs here).
//   migrate <DATABASE_URL>          connects, prints "ready", waits for a line on stdin (so that two
//                                   children start together), then migrates and prints the versions it
//                                   applied as JSON.

import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OrderPlacedSchema } from "../../../gen/shop/events/v1/events_pb.ts";
import { OrderSchema, OrderStatus } from "../../../gen/shop/orders/v1/orders_pb.ts";
import { createPostgresClient, createSqlOrderStore, migrateOrders, orderEvent } from "../../../services/orders/index.ts";

const [mode, url, userId = "crash-user"] = process.argv.slice(2);
const db = createPostgresClient({ connectionString: url!, maxConnections: 1 });
if (mode === "migrate") {
  await db.query("SELECT 1");
  process.stdout.write("ready\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  process.stdin.pause();
  const applied = await migrateOrders(db);
  process.stdout.write(JSON.stringify(applied) + "\n");
  await db.close();
} else if (mode === "place") {
  const store = createSqlOrderStore({ db });
  const id = randomUUID();
  const createdAt = timestampFromDate(new Date());
  const order = create(OrderSchema, { id, userId, status: OrderStatus.PLACED, totalCents: 100n, createdAt });
  await store.place(order, [orderEvent(`order-placed:${id}`, OrderPlacedSchema, create(OrderPlacedSchema, { orderId: id, userId, totalCents: 100n, placedAt: createdAt }))], "");
  process.stdout.write(`committed ${id}\n`);
  setInterval(() => {}, 60_000);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
