// compileClone(): protobuf-es's clone() generated once per schema (gen-clone.ts). The in-process
// transport copies every request and response with it, where reflection's clone cost more than the
// handlers it separates.

import { clone } from "@bufbuild/protobuf";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { planClone } from "./codec-plan.ts";
import type { FormatMode } from "./compile-codec.ts";
import { requireClone } from "./gen-clone.ts";
import { ModuleBuilder } from "./module-builder.ts";

/** The deep copy of one message type. */
export interface MessageCloner<Desc extends DescMessage> {
  readonly schema: Desc;
  /** Compiled, or delegated to protobuf-es (and why). */
  readonly mode: FormatMode;
  /** protobuf-es's clone(schema, message): the same message, the same errors. */
  clone(message: MessageShape<Desc>): MessageShape<Desc>;
  /** The compiled copy alone: undefined where protobuf-es must decide (a value it converts or refuses), or when delegated. */
  tryClone(message: MessageShape<Desc>): MessageShape<Desc> | undefined;
}

// One compilation per schema for the life of the schema object.
const cache = new WeakMap<DescMessage, MessageCloner<DescMessage>>();

/** What generated code returns when protobuf-es must decide (a value it would convert or refuse). */
const BAIL = Symbol("weft.clone.bail");

/** The cloner of `schema`, compiled on first use and cached; what cannot be compiled uses protobuf-es's clone. */
export function compileClone<Desc extends DescMessage>(schema: Desc): MessageCloner<Desc> {
  let cloner = cache.get(schema);
  if (cloner === undefined) {
    cloner = build(schema);
    cache.set(schema, cloner);
  }
  return cloner as unknown as MessageCloner<Desc>;
}

function build(schema: DescMessage): MessageCloner<DescMessage> {
  const delegated = (message: MessageShape<DescMessage>) => clone(schema, message);
  let reason = planClone(schema);
  let copy: ((message: unknown) => unknown) | undefined;
  if (reason === undefined) {
    try {
      const mb = new ModuleBuilder();
      mb.constantNamed("BAIL", BAIL);
      copy = mb.build<(message: unknown) => unknown>(requireClone(mb, schema));
    } catch (e) {
      // Code generation unavailable (--disallow-code-generation-from-strings): protobuf-es still clones.
      reason = `code generation failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (copy === undefined) return { schema, mode: { compiled: false, reason: reason! }, clone: delegated, tryClone: () => undefined };
  const compiled = copy;
  return {
    schema,
    mode: { compiled: true },
    clone(message) {
      const out = compiled(message);
      return out === BAIL ? delegated(message) : (out as MessageShape<DescMessage>);
    },
    tryClone(message) {
      const out = compiled(message);
      return out === BAIL ? undefined : (out as MessageShape<DescMessage>);
    },
  };
}
