// `npm run --silent keys:signing`: prints a value for IDENTITY_SIGNING_KEYS (a JWKS of ES256 private keys).
// With IDENTITY_SIGNING_KEYS set, prints a rotation: a new signing key first, the current keys kept after it
// (so tokens they signed keep verifying until they expire); drop the old keys a token lifetime later.
import { newSigningKeysSetting } from "../services/identity/index.ts";

if (process.argv.includes("--help")) {
  process.stdout.write("usage: npm run --silent keys:signing   (IDENTITY_SIGNING_KEYS set: rotate, keeping its keys after the new one)\n");
} else {
  const current = process.env.IDENTITY_SIGNING_KEYS?.trim();
  process.stdout.write(`${await newSigningKeysSetting(current === "" ? undefined : current)}\n`);
}
