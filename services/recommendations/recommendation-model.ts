// The model the service serves: plain data, built by the training task on the worker pool, swapped in
// whole and persisted whole. Per-product lists are flat typed arrays (compressed sparse rows) over shared
// memory, so the model crosses from the worker thread without a copy instead of as thousands of small arrays.

/** One sparse row per product: row `p` is `index[offsets[p]..offsets[p+1]]` with its `value`s. */
export interface SparseRows {
  readonly offsets: Int32Array;
  readonly index: Int32Array;
  readonly value: Float32Array;
}

/** A zeroed typed array of `length` elements over a SharedArrayBuffer (a model's arrays cross threads uncopied). */
export function sharedArray<A extends Int32Array | Float32Array>(type: { new (buffer: SharedArrayBuffer): A; readonly BYTES_PER_ELEMENT: number }, length: number): A {
  return new type(new SharedArrayBuffer(length * type.BYTES_PER_ELEMENT));
}

/** Packs rows of (index, value) pairs into {@link SparseRows} over SharedArrayBuffers. */
export function packRows(rows: ReadonlyArray<{ readonly index: readonly number[]; readonly value: readonly number[] }>): SparseRows {
  const offsets = sharedArray(Int32Array, rows.length + 1);
  rows.forEach((row, p) => (offsets[p + 1] = offsets[p]! + row.index.length));
  const index = sharedArray(Int32Array, offsets[rows.length]!);
  const value = sharedArray(Float32Array, index.length);
  rows.forEach((row, p) => {
    index.set(row.index, offsets[p]!);
    value.set(row.value, offsets[p]!);
  });
  return { offsets, index, value };
}

/** What a model says about itself. */
export interface ModelInfo {
  /** 0 for the empty model; +1 per trained model, kept across restarts. */
  readonly version: number;
  /** When training finished, ms since the epoch (0 for the empty model). */
  readonly trainedAtMs: number;
  /** Wall time of the training task, in ms. */
  readonly trainingMs: number;
  /** Orders learned from. */
  readonly orders: number;
  /** Distinct users learned from. */
  readonly users: number;
}

/** A trained recommendation model. */
export interface RecommendationModel {
  readonly info: ModelInfo;
  /** Product ids; every index below points into this list. */
  readonly productIds: string[];
  /** Per product: sparse L2-normalised TF-IDF (term index, weight) of its name, description, category and tags. */
  readonly terms: SparseRows;
  /** Vocabulary size of `terms`. */
  readonly termCount: number;
  /** Per product: content neighbours (cosine of TF-IDF), best first. */
  readonly content: SparseRows;
  /** Per product: item-item neighbours from users' purchase histories (cosine, shrunk), best first. */
  readonly alsoBought: SparseRows;
  /** Per product: neighbours from single orders (what goes into the same cart), best first. */
  readonly together: SparseRows;
  /** Per product: recency-weighted sales, scaled so the best seller is 1. */
  readonly popularity: Float32Array;
  /** Per user: products bought (indices) and how much each counts now (recent purchases count more). */
  readonly users: {
    /** User ids; row `u` of `history` is `ids[u]`'s. */
    readonly ids: string[];
    /** Per user: products bought (indices into `productIds`) and how much each counts now. */
    readonly history: SparseRows;
  };
}

/** The model as JSON text, typed arrays as base64 (for a store). */
export function modelToJson(model: RecommendationModel): string {
  return JSON.stringify(model, (_key, value: unknown) => {
    if (value instanceof Float32Array) return { f32: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
    if (value instanceof Int32Array) return { i32: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
    return value;
  });
}

/** Reads what {@link modelToJson} wrote. */
export function modelFromJson(text: string): RecommendationModel {
  const bytes = (base64: string) => Uint8Array.from(Buffer.from(base64, "base64")).buffer;
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      if ("f32" in value && typeof value.f32 === "string") return new Float32Array(bytes(value.f32));
      if ("i32" in value && typeof value.i32 === "string") return new Int32Array(bytes(value.i32));
    }
    return value;
  }) as RecommendationModel;
}
