// `npm run --silent keys:signing`: prints a value for IDENTITY_SIGNING_KEYS (a JWKS of ES256 private keys).
// With IDENTITY_SIGNING_KEYS set, prints a rotation: a new signing key first, the current keys kept after it
// (so tokens they signed keep verifying until they expire); drop the old keys a token lifetime later.
import { readCommandLine } from "../mesh/errors/index.ts";
import { newSigningKeysSetting } from "../services/identity/index.ts";

readCommandLine({
  usage: "npm run --silent keys:signing   (node scripts/signing-keys.ts)",
  summary: "Prints a value for IDENTITY_SIGNING_KEYS: a JWKS holding one new ES256 private key.",
  flags: {},
  env: [{ name: "IDENTITY_SIGNING_KEYS", description: "when set, prints a rotation: a new signing key first, these keys kept after it" }],
});
const current = process.env.IDENTITY_SIGNING_KEYS?.trim();
process.stdout.write(`${await newSigningKeysSetting(current === "" ? undefined : current)}\n`);
