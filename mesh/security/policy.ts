// Authorization policy documents: one per workload, naming the services it serves and, per method, who
// may call (workload identities, any workload, or anyone) and whether the call must carry an end user.
// Default deny: a method no ALLOW rule names is refused; a matching DENY rule wins over any ALLOW.

import { WeftError } from "../errors/index.ts";
import { isServiceName } from "./workload-id.ts";

/** Who a rule is about. */
export type CallerSpec = string;
/** Any caller with a verified workload identity in the trust domain. */
export const ANY_WORKLOAD = "any-workload";
/** Any caller at all, anonymous ones included (the public edge). */
export const ANYONE = "anyone";

/** One rule of a policy. */
export interface PolicyRule {
  /** "allow" or "deny". DENY rules are checked first. */
  readonly effect: "allow" | "deny";
  /** Methods, "package.Service/Method" or "package.Service/*", of services this workload serves. */
  readonly methods: readonly string[];
  /** Workload service names (e.g. "gateway"), "any-workload" or "anyone". */
  readonly callers: readonly CallerSpec[];
  /**
   * "required": the call must carry an end-user credential signed by the calling workload itself for
   * this workload (allow rules only). Default: none required.
   */
  readonly endUser?: "required";
}

/** One workload's policy (services/<name>/policy.json). */
export interface PolicyDocument {
  /** The workload (service name in its identity), e.g. "orders". */
  readonly workload: string;
  /** Fully-qualified services this workload serves, e.g. ["shop.orders.v1.OrderService"]. */
  readonly serves: readonly string[];
  /** The rules. */
  readonly rules: readonly PolicyRule[];
  /**
   * "read": this workload (an operator's tools: the weft CLI, its dashboard) may call every workload's
   * AdminService, which only reads. Default: no workload may (anonymous callers never can).
   */
  readonly admin?: "read";
}

/** An invalid policy (WEFT_ERR_SECURITY_POLICY); the message names the file and the entry. */
export class PolicyError extends WeftError {
  constructor(message: string) {
    super("WEFT_ERR_SECURITY_POLICY", message);
  }
}

const DOC_FIELDS = new Set(["workload", "serves", "rules", "admin", "$comment"]);
const RULE_FIELDS = new Set(["effect", "methods", "callers", "endUser", "$comment"]);

function stringList(value: unknown, where: string, allowEmpty = false): string[] {
  if (!Array.isArray(value) || (value.length === 0 && !allowEmpty) || !value.every((v) => typeof v === "string" && v.length > 0)) {
    throw new PolicyError(`${where} must be a non-empty array of strings`);
  }
  return value as string[];
}

/** Checks the shape of a parsed policy document; `source` names it in errors (e.g. its path). */
export function parsePolicy(value: unknown, source: string): PolicyDocument {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new PolicyError(`${source}: must be a JSON object`);
  const doc = value as Record<string, unknown>;
  for (const key of Object.keys(doc)) if (!DOC_FIELDS.has(key)) throw new PolicyError(`${source}: unknown field ${JSON.stringify(key)}`);
  if (typeof doc.workload !== "string" || !isServiceName(doc.workload)) throw new PolicyError(`${source}: workload must be a service name such as "orders"`);
  // A workload may serve nothing (a client only: a job, an operator's tool).
  const serves = stringList(doc.serves, `${source}: serves`, true);
  if (!Array.isArray(doc.rules)) throw new PolicyError(`${source}: rules must be an array`);
  const rules = doc.rules.map((raw: unknown, i: number): PolicyRule => {
    const where = `${source}: rules[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PolicyError(`${where} must be an object`);
    const rule = raw as Record<string, unknown>;
    for (const key of Object.keys(rule)) if (!RULE_FIELDS.has(key)) throw new PolicyError(`${where}: unknown field ${JSON.stringify(key)}`);
    if (rule.effect !== "allow" && rule.effect !== "deny") throw new PolicyError(`${where}.effect must be "allow" or "deny"`);
    if (rule.endUser !== undefined && (rule.endUser !== "required" || rule.effect !== "allow")) {
      throw new PolicyError(`${where}.endUser may only be "required", on an allow rule`);
    }
    return Object.freeze({
      effect: rule.effect,
      methods: Object.freeze(stringList(rule.methods, `${where}.methods`)),
      callers: Object.freeze(stringList(rule.callers, `${where}.callers`)),
      ...(rule.endUser === "required" ? { endUser: "required" as const } : {}),
    });
  });
  if (doc.admin !== undefined && doc.admin !== "read") throw new PolicyError(`${source}: admin may only be "read"`);
  return Object.freeze({ workload: doc.workload, serves: Object.freeze(serves), rules: Object.freeze(rules), ...(doc.admin === "read" ? { admin: "read" as const } : {}) });
}
