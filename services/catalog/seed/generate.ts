/**
 * Writes the shop's seed data deterministically (same output on every run and machine):
 *   services/catalog/seed/products.json   the product catalogue (1,200 products)
 *   services/inventory/seed/stock.json    the starting stock of every product
 *
 * Run: node services/catalog/seed/generate.ts
 * The files are committed; regenerate only when this script changes.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** How many products the catalogue holds. */
export const SEED_PRODUCT_COUNT = 1200;
/** Fixed PRNG seed so the output never changes. */
const SEED = 20261126;

/** A product as stored in products.json (Product in shop.catalog.v1, price as a plain number). */
export interface SeedProduct {
  id: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  tags: string[];
}

const CATEGORIES: Record<string, string[]> = {
  kitchen: ["kettle", "skillet", "teapot", "cutting board", "knife", "mixing bowl", "whisk", "colander"],
  garden: ["trowel", "planter", "watering can", "hose reel", "pruner", "seed tray", "rake", "bird feeder"],
  outdoors: ["tent", "lantern", "backpack", "hammock", "water bottle", "camp stove", "compass", "sleeping bag"],
  office: ["notebook", "desk lamp", "stapler", "pen set", "monitor stand", "desk organizer", "chair mat", "whiteboard"],
  audio: ["headphones", "speaker", "turntable", "microphone", "amplifier", "earbuds", "radio", "soundbar"],
  books: ["cookbook", "atlas", "novel", "field guide", "sketchbook", "journal", "almanac", "poetry collection"],
  toys: ["kite", "puzzle", "robot kit", "marble run", "yo-yo", "building blocks", "spinning top", "board game"],
  apparel: ["scarf", "beanie", "rain jacket", "wool socks", "sweater", "gloves", "sun hat", "apron"],
  tools: ["hammer", "screwdriver set", "tape measure", "level", "wrench", "hand saw", "utility knife", "clamp"],
  sports: ["yoga mat", "jump rope", "tennis racket", "football", "climbing chalk bag", "dumbbell", "bike bell", "swim goggles"],
  home: ["throw blanket", "candle", "vase", "wall clock", "cushion", "picture frame", "doormat", "storage basket"],
  pets: ["dog leash", "cat bed", "chew toy", "food bowl", "pet brush", "bird perch", "fish net", "scratching post"],
};
const ADJECTIVES = [
  "sturdy", "compact", "classic", "modern", "rustic", "lightweight", "cozy", "elegant", "rugged", "minimal",
  "vintage", "bright", "quiet", "foldable", "handmade", "heavy-duty",
];
const MATERIALS = ["oak", "steel", "copper", "bamboo", "linen", "wool", "ceramic", "walnut", "cotton", "glass", "leather", "cork"];
const COLORS = ["red", "blue", "green", "black", "white", "amber", "teal", "grey", "mustard", "navy"];
const USES = ["everyday use", "weekend trips", "small spaces", "gifting", "beginners", "long afternoons", "the whole family"];

/** mulberry32: a tiny, well-known 32-bit PRNG; deterministic for a given seed. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds the catalogue and the starting stock. Pure: same output for the same count. */
export function generateSeed(count = SEED_PRODUCT_COUNT): { products: SeedProduct[]; stock: Record<string, number> } {
  const random = createRandom(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const categories = Object.keys(CATEGORIES);
  const products: SeedProduct[] = [];
  const stock: Record<string, number> = {};
  for (let i = 1; i <= count; i++) {
    const category = categories[(i - 1) % categories.length];
    const noun = pick(CATEGORIES[category]);
    const adjective = pick(ADJECTIVES);
    const material = pick(MATERIALS);
    const color = pick(COLORS);
    const id = `prod-${String(i).padStart(4, "0")}`;
    const name = `${capitalize(adjective)} ${material} ${noun}`;
    const description = `A ${adjective} ${color} ${noun} made of ${material}, built for ${pick(USES)}.`;
    // Prices end in 99 cents, from 1.99 to 499.99.
    const priceCents = (1 + Math.floor(random() * 499)) * 100 + 99;
    const tags = [...new Set([category, material, color, adjective])];
    products.push({ id, name, description, category, priceCents, tags });
    // Mostly well stocked; every 25th product is low (1-3 units) and every 100th is sold out.
    stock[id] = i % 100 === 0 ? 0 : i % 25 === 0 ? 1 + Math.floor(random() * 3) : 20 + Math.floor(random() * 480);
  }
  return { products, stock };
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** One product per line keeps diffs of the committed file readable. */
function toJsonLines(items: unknown[]): string {
  return `[\n${items.map((item) => JSON.stringify(item)).join(",\n")}\n]\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { products, stock } = generateSeed();
  const productsUrl = new URL("./products.json", import.meta.url);
  const stockUrl = new URL("../../inventory/seed/stock.json", import.meta.url);
  writeFileSync(productsUrl, toJsonLines(products));
  writeFileSync(stockUrl, `${JSON.stringify(stock, null, 0).replaceAll(",", ",\n")}\n`);
  console.log(`wrote ${products.length} products to ${fileURLToPath(productsUrl)}`);
  console.log(`wrote ${Object.keys(stock).length} stock levels to ${fileURLToPath(stockUrl)}`);
}
