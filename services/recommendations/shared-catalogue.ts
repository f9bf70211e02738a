// The catalogue texts a training task reads, encoded once into shared memory: every training hands the
// same bytes to the worker without a copy, where structured-cloning 1,200 product objects cost the event
// loop about 0.5 ms per training (and the worker as much again to rebuild them).
import type { ProductText } from "./content-features.ts";

/** Product texts as UTF-8 JSON in a SharedArrayBuffer; structured-cloneable, shared rather than copied. */
export interface SharedCatalogue {
  readonly count: number;
  readonly json: Uint8Array;
}

/** Encodes the texts once (a catalogue changes rarely; trainings reuse the result). */
export function shareCatalogue(products: readonly ProductText[]): SharedCatalogue {
  const texts = products.map(({ id, name, description, category, tags }) => ({ id, name, description, category, tags: [...tags] }));
  const bytes = Buffer.from(JSON.stringify(texts), "utf8");
  const json = new Uint8Array(new SharedArrayBuffer(bytes.length));
  json.set(bytes);
  return { count: texts.length, json };
}

/** The texts back, on the thread that trains. */
export function readCatalogue(shared: SharedCatalogue): ProductText[] {
  // Buffer reads shared memory (TextDecoder may refuse it).
  const text = Buffer.from(shared.json.buffer, shared.json.byteOffset, shared.json.byteLength).toString("utf8");
  const products = JSON.parse(text) as ProductText[];
  if (products.length !== shared.count) throw new RangeError(`shared catalogue holds ${products.length} products, expected ${shared.count}`);
  return products;
}
