import { Matrix } from "ml-matrix";
import { topK } from "./top-k.ts";

/** The text of one product that content similarity reads. */
export interface ProductText {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly tags: readonly string[];
}

/** Sparse TF-IDF rows (L2-normalised) and each product's nearest neighbours by cosine. */
export interface ContentFeatures {
  /** Per product (index as in the input): term indices and their weights. */
  readonly terms: ReadonlyArray<{ readonly index: number[]; readonly weight: number[] }>;
  /** Per product: the most similar other products (indices), best first, and their cosines. */
  readonly neighbours: ReadonlyArray<{ readonly index: number[]; readonly score: number[] }>;
  /** Vocabulary size. */
  readonly termCount: number;
}

// Words every description shares: they say nothing about a product.
const STOP_WORDS = new Set(["a", "an", "the", "of", "and", "for", "made", "built", "with", "to", "in"]);
// Tags and the category are curated, so they count more than free text.
const TAG_WEIGHT = 2;

/** Lower-case words of a text, without stop words. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1 && !STOP_WORDS.has(w));
}

/**
 * TF-IDF over names, descriptions, categories and tags; cosine similarity of every pair through one
 * matrix product (ml-matrix), keeping the best `neighbourCount` per product.
 */
export function contentFeatures(products: readonly ProductText[], neighbourCount: number): ContentFeatures {
  const vocabulary = new Map<string, number>();
  const counts = products.map((p) => {
    const tf = new Map<number, number>();
    const add = (word: string, weight: number) => {
      let index = vocabulary.get(word);
      if (index === undefined) vocabulary.set(word, (index = vocabulary.size));
      tf.set(index, (tf.get(index) ?? 0) + weight);
    };
    for (const w of tokenize(`${p.name} ${p.description}`)) add(w, 1);
    for (const tag of [p.category, ...p.tags]) for (const w of tokenize(tag)) add(w, TAG_WEIGHT);
    return tf;
  });
  const df = new Float64Array(vocabulary.size);
  for (const tf of counts) for (const index of tf.keys()) df[index]! += 1;
  const n = products.length;
  const weights = new Matrix(n, vocabulary.size);
  counts.forEach((tf, row) => {
    for (const [index, count] of tf) weights.set(row, index, (1 + Math.log(count)) * Math.log((1 + n) / (1 + df[index]!)));
  });
  // L2-normalise each row so the Gram matrix holds cosines.
  for (let row = 0; row < n; row++) {
    const norm = weights.getRowVector(row).norm();
    if (norm > 0) weights.mulRow(row, 1 / norm);
  }
  const cosine = weights.mmul(weights.transpose());
  const terms = counts.map((tf, row) => {
    const index = [...tf.keys()];
    return { index, weight: index.map((i) => weights.get(row, i)) };
  });
  const neighbours = products.map((_, row) => topK(cosine.getRow(row), neighbourCount, row));
  return { terms, neighbours, termCount: vocabulary.size };
}
