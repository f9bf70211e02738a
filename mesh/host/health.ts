// grpc.health.v1.Health: per-service serving status, with "" standing for the whole server.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.ts";
import { HostError, HostErrorCode } from "./errors.ts";

/** A serving status, as the health protocol names it. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

const wire: Record<ServingStatus, HealthCheckResponse_ServingStatus> = {
  SERVING: HealthCheckResponse_ServingStatus.SERVING,
  NOT_SERVING: HealthCheckResponse_ServingStatus.NOT_SERVING,
};

/** A promise with its resolve function (Promise.withResolvers is outside the es2023 lib we type against). */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Per-service health of one host. `""` is the whole server. */
export interface HostHealth {
  /** Sets the status of `service` (a fully-qualified service name the host serves, or "" for the server). */
  set(service: string, status: ServingStatus): void;
  /** The status of `service`, or undefined when the host does not serve it. */
  get(service: string): ServingStatus | undefined;
  /** Every known service (and "") with its status. */
  entries(): ReadonlyMap<string, ServingStatus>;
}

/** The health registry behind the Health service: statuses plus change notification for Watch. */
export class HealthRegistry implements HostHealth {
  readonly #statuses = new Map<string, ServingStatus>([["", "SERVING"]]);
  #changed = signalled();

  /** Adds a newly registered service as SERVING. */
  add(service: string): void {
    this.#statuses.set(service, "SERVING");
    this.#notify();
  }

  set(service: string, status: ServingStatus): void {
    if (!this.#statuses.has(service)) {
      throw new HostError(HostErrorCode.unknownService, `health.set: the host does not serve ${JSON.stringify(service)}`);
    }
    if (status !== "SERVING" && status !== "NOT_SERVING") {
      throw new HostError(HostErrorCode.options, `health.set: status must be "SERVING" or "NOT_SERVING", got ${JSON.stringify(status)}`);
    }
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    this.#notify();
  }

  /** Marks every service and the server NOT_SERVING (the first step of a drain). */
  setAllNotServing(): void {
    for (const service of this.#statuses.keys()) this.#statuses.set(service, "NOT_SERVING");
    this.#notify();
  }

  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  entries(): ReadonlyMap<string, ServingStatus> {
    return new Map(this.#statuses);
  }

  /** The wire status of `service` (SERVICE_UNKNOWN when not served). */
  wireStatus(service: string): HealthCheckResponse_ServingStatus {
    const status = this.#statuses.get(service);
    return status === undefined ? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN : wire[status];
  }

  /** Resolves at the next change of any status. */
  changed(): Promise<void> {
    return this.#changed.promise;
  }

  #notify(): void {
    const previous = this.#changed;
    this.#changed = signalled();
    previous.resolve();
  }
}

function response(status: HealthCheckResponse_ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}

/** Resolves when `signal` aborts (never rejects); cleans its listener up when `settled` resolves first. */
function aborted(signal: AbortSignal, settled: Promise<void>): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    void settled.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

/** The grpc.health.v1.Health implementation over `registry`. */
export function createHealthService(registry: HealthRegistry): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = registry.get(request.service);
      if (status === undefined) {
        throw new ConnectError(`unknown service ${JSON.stringify(request.service)}`, Code.NotFound);
      }
      return response(wire[status]);
    },
    list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, status] of registry.entries()) statuses[service] = response(wire[status]);
      return { statuses };
    },
    async *watch(request, context) {
      // Sends the current status, then every change, until the caller leaves or the host shuts down.
      let last: HealthCheckResponse_ServingStatus | undefined;
      while (!context.signal.aborted) {
        const changed = registry.changed();
        const status = registry.wireStatus(request.service);
        if (status !== last) {
          last = status;
          yield response(status);
        }
        await aborted(context.signal, changed);
      }
    },
  };
}

/** The grpc.health.v1.Health descriptor, re-exported for the host. */
export { Health };
