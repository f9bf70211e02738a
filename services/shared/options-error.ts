// The reference services' start-up errors: a bad factory option (createCatalogService(...)) or a bad
// setting of `npm start`, each carrying a stable code as the runtime's WeftError does.

/** Stable code of an invalid service factory option (docs/errors.md, "Service codes"). */
export const WEFT_ERR_SHOP_OPTIONS = "WEFT_ERR_SHOP_OPTIONS";
/** Stable code of a bad start-up setting (docs/errors.md, "Service codes"). */
export const WEFT_ERR_SHOP_CONFIG = "WEFT_ERR_SHOP_CONFIG";

/** Stable code of an orders database that cannot be reached or migrated at start-up (docs/errors.md, "Service codes"). */
export const WEFT_ERR_ORDERS_DATABASE = "WEFT_ERR_ORDERS_DATABASE";

/** A shop start-up error: one line naming the option or variable, with its stable code. */
abstract class ShopStartupError extends TypeError {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A service factory was given an option it cannot use; the message names the field. */
export class ShopOptionsError extends ShopStartupError {
  readonly code = WEFT_ERR_SHOP_OPTIONS;
}

/** A start-up setting that cannot be used; the message names the variable. */
export class ShopConfigError extends ShopStartupError {
  readonly code = WEFT_ERR_SHOP_CONFIG;
}

/** Throws ShopOptionsError "options.<name> is required" unless `options[name]` is set. */
export function requireOptions<T extends object>(options: T | undefined, ...names: (keyof T & string)[]): void {
  for (const name of names) {
    if (!options?.[name]) throw new ShopOptionsError(`options.${name} is required`);
  }
}

/** The orders database (DATABASE_URL, ORDERS_DATA_DIR) could not be opened or migrated at start-up. */
export class OrdersDatabaseError extends ShopStartupError {
  readonly code = WEFT_ERR_ORDERS_DATABASE;
}
