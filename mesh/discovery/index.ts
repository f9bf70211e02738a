// Public entry of mesh/discovery: instances announce themselves on NATS; clients keep a live table.

export type { DiscoveryEvent, DownReason, Endpoint, EndpointLoad, EndpointSource, InterestOptions } from "./endpoint.ts";
export { NO_LOAD } from "./endpoint.ts";
export type { Announcer, AnnouncerOptions } from "./announcer.ts";
export { createAnnouncer } from "./announcer.ts";
export type { NatsDiscovery, NatsDiscoveryOptions } from "./nats-discovery.ts";
export { createNatsDiscovery } from "./nats-discovery.ts";
export type { StaticDiscoveryOptions } from "./static-discovery.ts";
export { createStaticDiscovery } from "./static-discovery.ts";
export { assertSubject, DEFAULT_SUBJECT_PREFIX, registrySubjects } from "./subjects.ts";
export type { RegistrySubjects, ServiceSubjects } from "./subjects.ts";
