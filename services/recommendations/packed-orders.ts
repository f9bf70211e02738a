// The order log as columns of typed arrays over SharedArrayBuffers: handing every recorded order to a
// training task on a worker thread shares the memory (no copy, no object graph for the main thread to
// clone and then collect), and the log costs a few bytes per order instead of an object and an array.
import type { OrderRecord } from "./train-task.ts";

/** Distinct strings, each once: string `i` is the UTF-8 `bytes[offsets[i]..offsets[i+1]]`. */
export interface PackedStrings {
  readonly count: number;
  readonly offsets: Int32Array;
  readonly bytes: Uint8Array;
}

/**
 * Orders as columns: order `o` is user `users[userIndex[o]]`, placed at `atMs[o]`, of the products
 * `products[productIndex[k]]` for `k` in `itemStart[o]..itemStart[o+1]`, in the order they were recorded.
 * Structured-cloneable; arrays over SharedArrayBuffers cross to a worker without a copy.
 */
export interface PackedOrders {
  readonly count: number;
  readonly userIndex: Int32Array;
  readonly atMs: Float64Array;
  readonly itemStart: Int32Array;
  readonly productIndex: Int32Array;
  readonly users: PackedStrings;
  readonly products: PackedStrings;
}

/** String `i` of a table. */
export function stringAt(table: PackedStrings, i: number): string {
  const start = table.offsets[i]!;
  // Buffer reads shared memory (TextDecoder may refuse it).
  return Buffer.from(table.bytes.buffer, table.bytes.byteOffset + start, table.offsets[i + 1]! - start).toString("utf8");
}

/** Packs orders into fresh columns (tests, evaluation, a log read from Redis). */
export function packOrders(records: Iterable<OrderRecord>): PackedOrders {
  const columns = createOrderColumns();
  for (const record of records) columns.append(record);
  return columns.snapshot();
}

/** The orders of packed columns as records (tests and tools; training reads the columns). */
export function unpackOrders(packed: PackedOrders): OrderRecord[] {
  const users = Array.from({ length: packed.users.count }, (_, i) => stringAt(packed.users, i));
  const products = Array.from({ length: packed.products.count }, (_, i) => stringAt(packed.products, i));
  const records: OrderRecord[] = [];
  for (let o = 0; o < packed.count; o++) {
    const productIds: string[] = [];
    for (let k = packed.itemStart[o]!; k < packed.itemStart[o + 1]!; k++) productIds.push(products[packed.productIndex[k]!]!);
    records.push({ userId: users[packed.userIndex[o]!]!, productIds, atMs: packed.atMs[o]! });
  }
  return records;
}

/** Append-only order columns: {@link OrderColumns.snapshot} is O(1) and stays valid while appends go on. */
export interface OrderColumns {
  /** Orders appended. */
  readonly count: number;
  append(order: OrderRecord): void;
  /** Every order appended so far, as views over the shared columns. */
  snapshot(): PackedOrders;
}

/** Creates empty order columns. */
export function createOrderColumns(): OrderColumns {
  const users = createStringTable();
  const products = createStringTable();
  const userIndex = new SharedColumn(Int32Array);
  const atMs = new SharedColumn(Float64Array);
  const itemStart = new SharedColumn(Int32Array);
  const productIndex = new SharedColumn(Int32Array);
  itemStart.push(0);
  return {
    get count() {
      return userIndex.length;
    },
    append(order) {
      for (const id of order.productIds) productIndex.push(products.indexOf(id));
      itemStart.push(productIndex.length);
      atMs.push(order.atMs);
      userIndex.push(users.indexOf(order.userId));
    },
    snapshot: () => ({
      count: userIndex.length,
      userIndex: userIndex.view(),
      atMs: atMs.view(),
      itemStart: itemStart.view(),
      productIndex: productIndex.view(),
      users: users.snapshot(),
      products: products.snapshot(),
    }),
  };
}

/** Interns strings into a {@link PackedStrings} table. */
function createStringTable() {
  const index = new Map<string, number>();
  const offsets = new SharedColumn(Int32Array);
  const bytes = new SharedColumn(Uint8Array);
  offsets.push(0);
  return {
    indexOf(text: string): number {
      let i = index.get(text);
      if (i === undefined) {
        index.set(text, (i = index.size));
        bytes.pushAll(Buffer.from(text, "utf8"));
        offsets.push(bytes.length);
      }
      return i;
    },
    snapshot: (): PackedStrings => ({ count: index.size, offsets: offsets.view(), bytes: bytes.view() }),
  };
}

type Typed = Int32Array | Float64Array | Uint8Array;
interface TypedConstructor<A extends Typed> {
  new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): A;
  new (length: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

const INITIAL_CAPACITY = 1024;

/**
 * A growable typed array over a SharedArrayBuffer. Only elements past every view handed out are ever
 * written (growing moves to a new buffer), so a view is immutable for whoever holds it.
 */
class SharedColumn<A extends Typed> {
  readonly #type: TypedConstructor<A>;
  #data: A;
  #length = 0;

  constructor(type: TypedConstructor<A>) {
    this.#type = type;
    this.#data = new type(new SharedArrayBuffer(INITIAL_CAPACITY * type.BYTES_PER_ELEMENT));
  }

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    this.#reserve(1);
    this.#data[this.#length++] = value;
  }

  pushAll(values: ArrayLike<number>): void {
    this.#reserve(values.length);
    this.#data.set(values, this.#length);
    this.#length += values.length;
  }

  /** The elements so far (a view: no copy). */
  view(): A {
    return new this.#type(this.#data.buffer as SharedArrayBuffer, 0, this.#length);
  }

  #reserve(more: number): void {
    if (this.#length + more <= this.#data.length) return;
    const capacity = Math.max(this.#length + more, this.#data.length * 2);
    const next = new this.#type(new SharedArrayBuffer(capacity * this.#type.BYTES_PER_ELEMENT));
    next.set(this.#data.subarray(0, this.#length) as never);
    this.#data = next;
  }
}
