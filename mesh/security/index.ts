// Public entry of mesh security: workload identities, mutual TLS with rotation, authorization.

/** SPIFFE-style workload identities (`spiffe://<trust domain>/svc/<service>`). */
export { isServiceName, isTrustDomain, parseWorkloadId, workloadId } from "./workload-id.ts";
/** A workload identity. */
export type { WorkloadId } from "./workload-id.ts";
/** The identity a certificate proves, read from its DER subjectAltName. */
export { certificateIdentity, uriSubjectAltNames } from "./certificate-identity.ts";
/** The outcome of reading a certificate's identity. */
export type { CertificateIdentity, IdentityRejection } from "./certificate-identity.ts";
/** Certificates issued with Node's crypto (development CA, workload leaves). */
export { issueCertificate } from "./issue-certificate.ts";
/** Options and result of `issueCertificate`. */
export type { IssueCertificateOptions, IssuedCertificate } from "./issue-certificate.ts";
/** A workload's credential files (ca.crt, tls.crt, tls.key), read and validated. */
export { chainsTo, CREDENTIAL_FILES, CredentialsError, pemCertificates, readCredentials, validateCredentials } from "./workload-credentials.ts";
/** A validated set of workload credentials. */
export type { WorkloadCredentials } from "./workload-credentials.ts";
/** Development credentials: a CA and a leaf per service, in memory or written to folders. */
export { CA_KEY_FILE, issueDevelopmentCredentials, writeCertificateAuthority, writeCredentials } from "./development-credentials.ts";
/** Options and result of `issueDevelopmentCredentials`. */
export type { DevelopmentCredentials, DevelopmentCredentialsOptions } from "./development-credentials.ts";
/** Mutual TLS for one workload: server and client options, peer identity, rotation. */
export { createWorkloadTls } from "./workload-tls.ts";
/** Options and state of `createWorkloadTls`. */
export type { WorkloadClientTls, WorkloadTls, WorkloadTlsOptions } from "./workload-tls.ts";
/** A workload's mTLS as host and mesh-client settings. */
export { hostTlsOptions, meshClientTls } from "./mesh-tls.ts";
/** Policy documents: default deny, DENY before ALLOW, callers and end-user requirements per method. */
export { ANY_WORKLOAD, ANYONE, parsePolicy, PolicyError } from "./policy.ts";
/** Policy document types. */
export type { CallerSpec, PolicyDocument, PolicyRule } from "./policy.ts";
/** Reads policy documents from JSON files. */
export { readPolicyFiles } from "./read-policies.ts";
/** Compiles policies against the generated descriptors into the table hooks enforce. */
export { compilePolicies } from "./policy-compiler.ts";
/** The compiled table and its options. */
export type { AuthorizationTable, CompiledRule, CompilePoliciesOptions, MethodRules } from "./policy-compiler.ts";
/** Short-lived end-user credentials (ES256 JWT with x5c) from the edge to one workload. */
export { createEndUserSigner, createEndUserVerifier, END_USER_HEADER, END_USER_TTL_SECONDS } from "./end-user-credential.ts";
/** End-user credential types. */
export type { EndUser, EndUserRejection, EndUserSigner, EndUserVerifier } from "./end-user-credential.ts";
/** Authorization as server call hooks, and the context values it sets. */
export { createAuthorization, endUserKey, peerIdentityKey, peerIdentityOf, requireEndUser } from "./authorization-hooks.ts";
/** Authorization types. */
export type { Authorization, AuthorizationOptions, Denial } from "./authorization-hooks.ts";
/** Development mode without mTLS: the end user as a plain, trusted header (never used with credentials). */
export { createInsecureEndUserHooks, INSECURE_END_USER_HEADER, insecureEndUserHeaders } from "./insecure-end-user.ts";
/** NATS subject permissions of each workload's user, derived from the policies, and the nats-server configuration. */
export { NATS_INBOX_ROOT, natsInboxPrefix, natsInstanceSubject, natsAuthorization, natsPermissions, natsServerConfig } from "./nats-permissions.ts";
/** Options and results of the NATS permissions. */
export type { NatsAuthorizationOptions, NatsMeshSubjects, NatsPermissions, NatsServerConfigOptions } from "./nats-permissions.ts";
/** NATS nkey users: development seeds per workload, and the authenticator a process connects with. */
export { issueNatsUser, natsPublicKey, natsSeedFile, readNatsAuthenticator, writeNatsCredentials } from "./nats-credentials.ts";
/** The AdminService guard for an operator's shared token (the one-process shop). */
export { ADMIN_TOKEN_HEADER, createAdminTokenGuard } from "./admin-token.ts";
