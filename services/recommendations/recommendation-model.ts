// The model the service serves: plain data (structured-cloneable, JSON-serialisable), built by the
// training task on the worker pool, swapped in whole and persisted whole.

/** A product's best neighbours (indices into `productIds`), best first, with their scores. */
export interface Neighbours {
  readonly index: number[];
  readonly score: number[];
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
  /** Per product: sparse L2-normalised TF-IDF of its name, description, category and tags. */
  readonly terms: Array<{ index: number[]; weight: number[] }>;
  /** Per product: content neighbours (cosine of TF-IDF). */
  readonly content: Neighbours[];
  /** Per product: item-item neighbours from users' purchase histories (cosine, shrunk). */
  readonly alsoBought: Neighbours[];
  /** Per product: neighbours from single orders (what goes into the same cart). */
  readonly together: Neighbours[];
  /** Per product: recency-weighted sales, scaled so the best seller is 1. */
  readonly popularity: number[];
  /** Per user: products bought (indices) and how much each counts now (recent purchases count more). */
  readonly users: Record<string, { index: number[]; weight: number[] }>;
}
