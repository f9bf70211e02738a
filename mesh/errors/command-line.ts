// The command line of every entry point: flags parsed by node:util parseArgs from one spec that also
// writes the --help text, so the help cannot leave out a flag the script reads.

import { parseArgs, type ParseArgsOptionDescriptor } from "node:util";
import { exitOnStartupError } from "./run-main.ts";
import { WeftError } from "./weft-error.ts";

/** One flag: a parseArgs option descriptor plus what --help says about it. */
export interface CommandFlag extends ParseArgsOptionDescriptor {
  /** One line for --help. */
  readonly description: string;
  /** Placeholder of the value in --help (`--runs N`). Default: `VALUE` for string flags. */
  readonly valueName?: string;
  /** The default as --help shows it, when it is not the parseArgs `default` (e.g. computed later). */
  readonly defaultText?: string;
}

/** An environment variable the entry point reads, for --help. */
export interface CommandVariable {
  readonly name: string;
  /** The default as --help shows it; omitted = unset. */
  readonly defaultText?: string;
  readonly description: string;
}

/** What an entry point accepts: parsed by {@link readCommandLine}, printed by {@link formatHelp}. */
export interface CommandSpec<F extends Readonly<Record<string, CommandFlag>>> {
  /** How to run it, e.g. `npm run bench -- [flags]`. */
  readonly usage: string;
  /** What it does, a few lines. */
  readonly summary: string;
  /** Its flags by long name (without `--`); `--help` / `-h` is added. */
  readonly flags: F;
  /** Its positional arguments; none = any positional is an error. */
  readonly positionals?: readonly { readonly name: string; readonly description: string }[];
  /** The environment variables it reads. */
  readonly env?: readonly CommandVariable[];
  /** Anything else --help should say, after the lists. */
  readonly notes?: string;
}

/** The values parseArgs returns for the flags `F`. */
export type CommandValues<F extends Readonly<Record<string, CommandFlag>>> = ReturnType<
  typeof parseArgs<{ options: F; allowPositionals: true; strict: true }>
>["values"];

const HELP_FLAG: CommandFlag = { type: "boolean", short: "h", description: "this text" };

function column(left: string, right: string): string {
  return left.length < 26 ? `  ${left.padEnd(26)}${right}` : `  ${left}\n  ${" ".repeat(26)}${right}`;
}

/** The --help text of a spec: usage, summary, every flag with its default, every variable with its default. */
export function formatHelp<F extends Readonly<Record<string, CommandFlag>>>(spec: CommandSpec<F>): string {
  const lines = [`Usage: ${spec.usage}`, "", spec.summary];
  if (spec.positionals !== undefined && spec.positionals.length > 0) {
    lines.push("", "Arguments:", ...spec.positionals.map((p) => column(p.name, p.description)));
  }
  lines.push("", "Flags:");
  for (const [name, flag] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
    const value = flag.type === "string" ? ` ${flag.valueName ?? "VALUE"}` : "";
    const shown = flag.defaultText ?? (flag.default === undefined || flag.default === false ? undefined : String(flag.default));
    const left = `${flag.short !== undefined ? `-${flag.short}, ` : ""}--${name}${value}`;
    lines.push(column(left, `${flag.description}${shown === undefined ? "" : ` (default ${shown})`}`));
  }
  if (spec.env !== undefined && spec.env.length > 0) {
    lines.push("", "Environment:");
    for (const v of spec.env) lines.push(column(v.name, `${v.description}${v.defaultText === undefined ? "" : ` (default ${v.defaultText})`}`));
  }
  if (spec.notes !== undefined) lines.push("", spec.notes);
  return lines.join("\n");
}

/**
 * Parses an entry point's flags (default: `process.argv`). `--help` prints {@link formatHelp} and exits 0;
 * an unknown flag or a missing value is one WEFT_ERR_STARTUP line and exit 1.
 */
export function readCommandLine<const F extends Readonly<Record<string, CommandFlag>>>(
  spec: CommandSpec<F>,
  argv: readonly string[] = process.argv.slice(2),
): { values: CommandValues<F>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries({ ...spec.flags, help: HELP_FLAG }).map(([name, f]) => {
      const { description: _d, valueName: _v, defaultText: _t, ...descriptor } = f;
      return [name, descriptor];
    }),
  );
  let parsed;
  try {
    // --no-<flag> turns a boolean flag off (e.g. bench:footprint's --no-services).
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, allowNegative: true, strict: true });
  } catch (err) {
    const unknown = /^Unknown option '([^']+)'/.exec((err as Error).message)?.[1];
    const what = unknown !== undefined ? `unknown flag ${unknown}` : (err as Error).message.split("\n")[0];
    exitOnStartupError(new WeftError("WEFT_ERR_STARTUP", `${what}; --help lists the flags`, { cause: err }));
  }
  if (parsed.values.help === true) {
    process.stdout.write(formatHelp(spec) + "\n");
    process.exit(0);
  }
  const allowed = spec.positionals?.length ?? 0;
  if (parsed.positionals.length > allowed) {
    exitOnStartupError(new WeftError("WEFT_ERR_STARTUP", `unexpected argument ${JSON.stringify(parsed.positionals[allowed])}; --help lists the arguments`));
  }
  return { values: parsed.values as CommandValues<F>, positionals: parsed.positionals };
}

/** A number flag or variable: `fallback` when unset; one WEFT_ERR_STARTUP line naming `name` when not a number in [min, max]. */
export function numberSetting(name: string, value: string | undefined, fallback: number, range: { min?: number; max?: number; integer?: boolean } = {}): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false } = range;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const what = `${integer ? "an integer" : "a number"} from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`;
    exitOnStartupError(new WeftError("WEFT_ERR_STARTUP", `${name} is ${JSON.stringify(value)}, set ${name} to ${what}`));
  }
  return n;
}
