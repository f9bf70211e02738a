// A synthetic order stream with planted preferences, for the recommendations eval and its test: each
// user has favourite categories and a style (a material and an adjective); some products sell only in
// their season; the rest of the traffic follows a long-tailed global popularity.
import type { ProductText } from "../../services/recommendations/content-features.ts";
import type { OrderRecord } from "../../services/recommendations/train-task.ts";
import { Rng } from "../../test/support/codec/rng.ts";

/** Options of {@link syntheticOrders}. */
export interface SyntheticOptions {
  readonly products: readonly ProductText[];
  /** Users in the stream. Default 600. */
  readonly users?: number;
  /** Orders per user, at least (a user places between this and twice this). Default 5. */
  readonly minOrdersPerUser?: number;
  /** PRNG seed: the same seed gives the same stream. Default 1. */
  readonly seed?: number;
  /** Products that sell mostly in their season (each of 4 seasons gets a quarter). Default 80. */
  readonly seasonalItems?: number;
}

/** The stream and what was planted, for reading a failure. */
export interface SyntheticStream {
  readonly orders: OrderRecord[];
  readonly tastes: ReadonlyMap<string, { categories: string[]; material: string; adjective: string }>;
}

const DAY_MS = 86_400_000;
const YEAR_DAYS = 360;
const START_MS = Date.UTC(2026, 0, 1);
// Shares of a line's choice: the user's taste, the season's items, the global long tail.
const TASTE_SHARE = 0.6;
const SEASON_SHARE = 0.2;

/** Builds a reproducible stream of orders (sorted by time). */
export function syntheticOrders(options: SyntheticOptions): SyntheticStream {
  // The test support's seeded PRNG (mulberry32), so a stream is reproducible.
  const rng = new Rng(options.seed ?? 1);
  const random = () => rng.next();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const { products } = options;
  const categories = [...new Set(products.map((p) => p.category))];
  const materials = [...new Set(products.map((p) => p.tags[1]!))];
  const adjectives = [...new Set(products.map((p) => p.tags[3]!))];
  const seasonal = shuffle([...products], random).slice(0, options.seasonalItems ?? 80);
  const seasonOf = new Map(seasonal.map((p, i) => [p.id, i % 4]));
  // Global popularity: a Zipf-like tail over a fixed random order.
  const tail = shuffle(products.filter((p) => !seasonOf.has(p.id)), random);
  const zipf = tail.map((_, r) => 1 / (r + 1));
  const zipfTotal = zipf.reduce((a, b) => a + b, 0);

  const orders: OrderRecord[] = [];
  const tastes = new Map<string, { categories: string[]; material: string; adjective: string }>();
  const userCount = options.users ?? 600;
  const minOrders = options.minOrdersPerUser ?? 5;
  for (let u = 0; u < userCount; u++) {
    const userId = `synthetic-user-${u}`;
    const taste = { categories: [pick(categories), ...(random() < 0.4 ? [pick(categories)] : [])], material: pick(materials), adjective: pick(adjectives) };
    tastes.set(userId, taste);
    const liked = products.filter((p) => taste.categories.includes(p.category));
    const styled = liked.filter((p) => p.tags.includes(taste.material) || p.tags.includes(taste.adjective));
    const count = minOrders + Math.floor(random() * (minOrders + 1));
    for (let o = 0; o < count; o++) {
      const atMs = START_MS + Math.floor(random() * YEAR_DAYS * DAY_MS);
      const season = Math.floor((atMs - START_MS) / DAY_MS / (YEAR_DAYS / 4)) % 4;
      const inSeason = seasonal.filter((p) => seasonOf.get(p.id) === season);
      const lines = 1 + Math.floor(random() * 3);
      const productIds: string[] = [];
      for (let l = 0; l < lines; l++) {
        const r = random();
        if (r < TASTE_SHARE) productIds.push(pick(random() < 0.75 && styled.length > 0 ? styled : liked).id);
        else if (r < TASTE_SHARE + SEASON_SHARE) productIds.push(pick(inSeason).id);
        else productIds.push(tail[zipfIndex(zipf, zipfTotal, random())]!.id);
      }
      orders.push({ userId, productIds: [...new Set(productIds)], atMs });
    }
  }
  orders.sort((a, b) => a.atMs - b.atMs);
  return { orders, tastes };
}

function zipfIndex(weights: readonly number[], total: number, r: number): number {
  let left = r * total;
  for (let i = 0; i < weights.length; i++) if ((left -= weights[i]!) <= 0) return i;
  return weights.length - 1;
}

function shuffle<T>(list: T[], random: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}
