import type { DescMessage } from "@bufbuild/protobuf";
import { EventsOptionsError } from "../errors/index.ts";

/** Where one event type lives on JetStream: all derived from its Protobuf full name. */
export interface EventNames {
  /** Fully-qualified type, e.g. `shop.events.v1.OrderPlaced`. */
  readonly type: string;
  /** Stream of the type's domain, e.g. `SHOP_EVENTS` (package minus its version, upper snake case). */
  readonly stream: string;
  /** Subjects the domain's stream captures, e.g. `events.shop.events.>`. */
  readonly streamSubject: string;
  /** Subject the type is published on, e.g. `events.shop.events.v1.OrderPlaced`. */
  readonly subject: string;
  /** Dead-letter stream of the domain, e.g. `SHOP_EVENTS_DLQ`. */
  readonly deadLetterStream: string;
  /** Subjects the dead-letter stream captures, e.g. `deadletter.*.shop.events.>`. */
  readonly deadLetterStreamSubject: string;
}

const VERSION_SEGMENT = /^v\d+((alpha|beta)\d*)?$/;

/**
 * Names for `schema`'s type. `prefix` (letters and digits) namespaces everything, so that tests and
 * environments sharing a server never collide: `t1` gives stream `T1_SHOP_EVENTS`, subject
 * `t1.events.shop.events.v1.OrderPlaced`.
 */
export function eventNames(schema: DescMessage, prefix = ""): EventNames {
  const pkg = schema.file.proto.package;
  if (!pkg) throw new EventsOptionsError(`event type ${schema.typeName} must be declared in a Protobuf package`);
  const domain = pkg.split(".").filter((segment) => !VERSION_SEGMENT.test(segment));
  const streamBase = domain.join("_").toUpperCase();
  const subjectPrefix = prefix ? `${prefix}.` : "";
  const stream = `${streamNamePrefix(prefix)}${streamBase}`;
  return {
    type: schema.typeName,
    stream,
    streamSubject: `${subjectPrefix}events.${domain.join(".")}.>`,
    subject: `${subjectPrefix}events.${schema.typeName}`,
    deadLetterStream: `${stream}_DLQ`,
    deadLetterStreamSubject: `${subjectPrefix}deadletter.*.${domain.join(".")}.>`,
  };
}

/** How every stream name under events prefix `prefix` starts: `t1` gives `T1_`, no prefix "". */
export function streamNamePrefix(prefix: string): string {
  return prefix ? `${prefix.toUpperCase()}_` : "";
}

/** The dead-letter subject for `consumer` giving up on an event of `names.type`. */
export function deadLetterSubject(names: EventNames, consumer: string, prefix = ""): string {
  return `${prefix ? `${prefix}.` : ""}deadletter.${consumer}.${names.type}`;
}

/** The durable consumer name for a service's subscription to one type (dots are not allowed in names). */
export function durableName(consumer: string, names: EventNames): string {
  return `${consumer}_${names.type.replaceAll(".", "_")}`;
}

/** Validates a name prefix, naming the field. */
export function checkPrefix(prefix: string): void {
  if (prefix !== "" && !/^[A-Za-z0-9]+$/.test(prefix)) {
    throw new EventsOptionsError(`options.prefix must be letters and digits, got ${JSON.stringify(prefix)}`);
  }
}
