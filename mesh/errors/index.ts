// Public entry of the runtime's error registry, error classes, option checks and abort helpers.

export { isWeftErrorCode, WeftErrorCodes } from "./codes.ts";
export type { WeftErrorCode, WeftOptionsErrorCode } from "./codes.ts";
export { CacheOptionsError, ComputeOptionsError, EventsOptionsError, isWeftError, WeftError, WeftOptionsError } from "./weft-error.ts";
export { assertBoolean, assertFunction, assertInt, assertNonEmpty, assertNumber, assertObject, assertOneOf } from "./validate.ts";
export { abortError, raceAbort } from "./abort-error.ts";
export type { StartupErrorOptions, StartupHint } from "./run-main.ts";
export { describeStartupError, exitOnStartupError, HOST_PORT_HINTS, runMain } from "./run-main.ts";
export type { CommandFlag, CommandSpec, CommandValues, CommandVariable } from "./command-line.ts";
export { formatHelp, numberSetting, readCommandLine } from "./command-line.ts";
