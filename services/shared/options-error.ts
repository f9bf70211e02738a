// The reference services' one start-up error for a bad factory option (createCatalogService(...),
// createOrdersService(...)): a TypeError carrying a stable code, as the runtime's WeftOptionsError does.

/** Stable code of an invalid service factory option (docs/errors.md, "Service codes"). */
export const WEFT_ERR_SHOP_OPTIONS = "WEFT_ERR_SHOP_OPTIONS";

/** A service factory was given an option it cannot use; the message names the field. */
export class ShopOptionsError extends TypeError {
  readonly code = WEFT_ERR_SHOP_OPTIONS;
  constructor(message: string) {
    super(message);
    this.name = "ShopOptionsError";
  }
}

/** Throws ShopOptionsError "options.<name> is required" unless `options[name]` is set. */
export function requireOptions<T extends object>(options: T | undefined, ...names: (keyof T & string)[]): void {
  for (const name of names) {
    if (!options?.[name]) throw new ShopOptionsError(`options.${name} is required`);
  }
}
