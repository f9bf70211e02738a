// Compiles policy documents into the table call hooks enforce: every service, method and caller name is
// checked against the generated descriptors and the set of workloads, so a typo fails at build time
// (in `npm test`) and at start-up, never as a silent hole or a silent denial at run time.

import type { DescService } from "@bufbuild/protobuf";
import { ANY_WORKLOAD, ANYONE, PolicyError, type PolicyDocument } from "./policy.ts";
import { workloadId, type WorkloadId } from "./workload-id.ts";

/** One compiled rule. */
export interface CompiledRule {
  readonly effect: "allow" | "deny";
  /** Identities (SPIFFE URIs) the rule names. */
  readonly identities: ReadonlySet<string>;
  /** The rule names any verified workload. */
  readonly anyWorkload: boolean;
  /** The rule names anyone, anonymous callers included. */
  readonly anyone: boolean;
  /** The call must carry an end-user credential from its caller. */
  readonly endUser: boolean;
}

/** The rules of one method, DENY rules apart, and the workload that serves it. */
export interface MethodRules {
  readonly server: WorkloadId;
  readonly deny: readonly CompiledRule[];
  readonly allow: readonly CompiledRule[];
}

/** The compiled policies of a mesh. */
export interface AuthorizationTable {
  readonly trustDomain: string;
  /** Every workload with a policy. */
  readonly workloads: ReadonlyMap<string, WorkloadId>;
  /** Rules by method path ("/pkg.Service/Method"); undefined for a method no policy covers (denied). */
  rules(path: string): MethodRules | undefined;
  /** The workload that serves `service` (fully-qualified name), if any policy says so. */
  serverOf(service: string): WorkloadId | undefined;
  /** True when some ALLOW rule of `workload` names anyone: its port is a public edge. */
  isPublic(workload: string): boolean;
  /** Method paths some ALLOW rule and no DENY rule opens to `caller` (end-user needs aside). */
  callableBy(caller: string): string[];
  /** Identities (SPIFFE URIs) whose policy says `"admin": "read"`: the AdminService's only callers. */
  readonly adminReaders: ReadonlySet<string>;
  /** The documents compiled. */
  readonly documents: readonly PolicyDocument[];
}

/** Options of {@link compilePolicies}. */
export interface CompilePoliciesOptions {
  /** Trust domain of every identity. Required. */
  readonly trustDomain: string;
  /** Every service descriptor a policy may name (the generated code), or, with `rulesOf`, those of its workloads. Required. */
  readonly services: readonly DescService[];
  /**
   * Compile the rules of these workloads only (a process enforces its own): the other documents give
   * their workloads' identities, what they serve and whether they are public, and their services are not
   * looked up in `services`, so a process needs no other service's descriptors. Their rules stay out of
   * the table: `rules()` denies their methods and `callableBy()` lists none of them.
   * Default: every workload (the launcher and `npm test` check every document).
   */
  readonly rulesOf?: readonly string[];
}

/** Checks `documents` against the descriptors and compiles them. Throws PolicyError naming the entry. */
export function compilePolicies(documents: readonly PolicyDocument[], options: CompilePoliciesOptions): AuthorizationTable {
  const known = new Map(options.services.map((s) => [s.typeName, s]));
  const workloads = new Map<string, WorkloadId>();
  for (const doc of documents) {
    if (workloads.has(doc.workload)) throw new PolicyError(`workload ${doc.workload}: two policies`);
    workloads.set(doc.workload, workloadId(options.trustDomain, doc.workload));
  }
  const servers = new Map<string, WorkloadId>();
  const table = new Map<string, { server: WorkloadId; deny: CompiledRule[]; allow: CompiledRule[] }>();
  const compiled = (workload: string) => options.rulesOf === undefined || options.rulesOf.includes(workload);
  for (const name of options.rulesOf ?? []) if (!workloads.has(name)) throw new PolicyError(`rulesOf: no policy for workload ${JSON.stringify(name)}`);
  for (const doc of documents) {
    const self = workloads.get(doc.workload)!;
    for (const name of doc.serves) {
      if (servers.has(name)) throw new PolicyError(`workload ${doc.workload}: ${name} is already served by ${servers.get(name)!.service}`);
      servers.set(name, self);
      if (!compiled(doc.workload)) continue;
      const service = known.get(name);
      if (service === undefined) throw new PolicyError(`workload ${doc.workload}: serves unknown service ${JSON.stringify(name)}`);
      for (const method of service.methods) table.set(`/${name}/${method.name}`, { server: self, deny: [], allow: [] });
    }
    if (!compiled(doc.workload)) continue;
    doc.rules.forEach((rule, i) => {
      const where = `workload ${doc.workload}: rules[${i}]`;
      const identities = new Set<string>();
      let anyWorkload = false;
      let anyone = false;
      for (const caller of rule.callers) {
        if (caller === ANYONE) anyone = true;
        else if (caller === ANY_WORKLOAD) anyWorkload = true;
        else if (workloads.has(caller)) identities.add(workloads.get(caller)!.uri);
        else throw new PolicyError(`${where}: unknown caller ${JSON.stringify(caller)} (a workload with a policy, "${ANY_WORKLOAD}" or "${ANYONE}")`);
      }
      if (anyone && rule.endUser === "required") throw new PolicyError(`${where}: endUser "required" cannot apply to "${ANYONE}" (only a workload signs end-user credentials)`);
      const compiled: CompiledRule = Object.freeze({ effect: rule.effect, identities, anyWorkload, anyone, endUser: rule.endUser === "required" });
      for (const pattern of rule.methods) {
        const slash = pattern.indexOf("/");
        const serviceName = slash < 0 ? pattern : pattern.slice(0, slash);
        const methodName = slash < 0 ? "" : pattern.slice(slash + 1);
        const service = known.get(serviceName);
        if (service === undefined) throw new PolicyError(`${where}: unknown service ${JSON.stringify(serviceName)} in ${JSON.stringify(pattern)}`);
        if (!doc.serves.includes(serviceName)) throw new PolicyError(`${where}: ${serviceName} is not served by ${doc.workload}`);
        const methods = methodName === "*" ? service.methods : service.methods.filter((m) => m.name === methodName);
        if (methods.length === 0) throw new PolicyError(`${where}: unknown method ${JSON.stringify(pattern)} (write "${serviceName}/<Method>" or "${serviceName}/*")`);
        for (const method of methods) {
          const entry = table.get(`/${serviceName}/${method.name}`)!;
          (rule.effect === "deny" ? entry.deny : entry.allow).push(compiled);
        }
      }
    });
  }
  const publicWorkloads = new Set(documents.filter((d) => d.rules.some((r) => r.effect === "allow" && r.callers.includes(ANYONE))).map((d) => d.workload));
  const frozen = new Map([...table].map(([path, e]) => [path, Object.freeze({ server: e.server, deny: Object.freeze(e.deny), allow: Object.freeze(e.allow) })]));
  return Object.freeze({
    trustDomain: options.trustDomain,
    workloads,
    adminReaders: new Set(documents.filter((d) => d.admin === "read").map((d) => workloads.get(d.workload)!.uri)),
    documents: Object.freeze([...documents]),
    rules: (path: string) => frozen.get(path),
    serverOf: (service: string) => servers.get(service),
    isPublic: (workload: string) => publicWorkloads.has(workload),
    callableBy(caller: string) {
      const uri = workloads.get(caller)?.uri;
      const names = (rule: CompiledRule) => rule.anyone || rule.anyWorkload || (uri !== undefined && rule.identities.has(uri));
      return [...frozen].filter(([, r]) => r.allow.some(names) && !r.deny.some(names)).map(([path]) => path);
    },
  });
}
