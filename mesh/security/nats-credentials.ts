// NATS credentials of the workloads: one nkey user each (an Ed25519 key pair; the server keeps only the
// public key, the client proves the seed by signing the server's nonce, so no secret crosses the wire
// or sits in the server's configuration). Development seeds live in `<dir>/<workload>.nk`.

import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { nkeyAuthenticator, nkeys, type Authenticator } from "@nats-io/transport-node";
import { writeAtomically } from "./development-credentials.ts";
import { CredentialsError } from "./workload-credentials.ts";

/** The seed file of `workload` in a NATS credentials folder. */
export function natsSeedFile(dir: string, workload: string): string {
  return join(dir, `${workload}.nk`);
}

/** A new nkey user: its seed (secret, "SU...") and public key ("U..."). */
export function issueNatsUser(): { readonly seed: string; readonly publicKey: string } {
  const user = nkeys.createUser();
  return { seed: new TextDecoder().decode(user.getSeed()), publicKey: user.getPublicKey() };
}

/** The public key of a user seed; throws CredentialsError when it is not one. */
export function natsPublicKey(seed: string): string {
  try {
    const pair = nkeys.fromSeed(new TextEncoder().encode(seed.trim()));
    const key = pair.getPublicKey();
    if (!key.startsWith("U")) throw new Error("not a user seed");
    return key;
  } catch (cause) {
    throw new CredentialsError(`not an nkey user seed (expected one line "SU...")${cause instanceof Error ? `: ${cause.message}` : ""}`);
  }
}

/**
 * Makes sure `dir` holds a seed per workload (`<workload>.nk`, readable by its owner only), keeping the
 * seeds already there; returns each workload's public key.
 */
export async function writeNatsCredentials(dir: string, workloads: readonly string[]): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = new Map<string, string>();
  for (const workload of workloads) {
    const file = natsSeedFile(dir, workload);
    const existing = await readFile(file, "utf8").catch(() => undefined);
    if (existing !== undefined) {
      keys.set(workload, natsPublicKey(existing));
      continue;
    }
    const user = issueNatsUser();
    await writeAtomically(file, `${user.seed}\n`, 0o600);
    keys.set(workload, user.publicKey);
  }
  return keys;
}

/** Reads a seed file and returns the nats.js authenticator that proves it. Throws CredentialsError naming the file. */
export async function readNatsAuthenticator(file: string): Promise<Authenticator> {
  let seed: string;
  try {
    seed = (await readFile(file, "utf8")).trim();
  } catch (cause) {
    throw new CredentialsError(`cannot read the NATS seed file ${file}: ${(cause as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  try {
    natsPublicKey(seed);
  } catch (err) {
    throw new CredentialsError(`${file}: ${(err as Error).message}`);
  }
  return nkeyAuthenticator(new TextEncoder().encode(seed));
}
