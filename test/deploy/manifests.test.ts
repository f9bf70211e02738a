// The service manifest (services/manifest.ts) is the one list of services: the folders with a main.ts,
// the deploy files and the launcher all agree with it.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SHOP_SERVICES } from "../../services/manifest.ts";

const root = new URL("../../", import.meta.url).pathname;
const servicesWithMain = readdirSync(join(root, "services"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, "services", d.name, "main.ts")))
  .map((d) => d.name)
  .sort();

function entryPoints(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...new Set([...text.matchAll(/services\/([a-z-]+)\/main\.ts/g)].map((m) => m[1]))].sort();
}

const manifestNames = SHOP_SERVICES.map((s) => s.name).sort();

describe("deploy manifests", () => {
  it("the service manifest lists exactly the service folders that have a main.ts, at their main path", () => {
    expect(manifestNames).toEqual(servicesWithMain);
    for (const s of SHOP_SERVICES) expect(s.main).toBe(`services/${s.name}/main.ts`);
    expect(new Set(SHOP_SERVICES.flatMap((s) => s.protoServices)).size).toBe(SHOP_SERVICES.flatMap((s) => s.protoServices).length);
  });

  for (const file of ["deploy/compose.yaml", "deploy/k8s/shop.yaml"]) {
    it(`${file} runs exactly the manifest's services`, () => {
      expect(entryPoints(file)).toEqual(manifestNames);
    });
  }

  it("compose publishes a port for the public services only", () => {
    const compose = readFileSync(join(root, "deploy/compose.yaml"), "utf8");
    for (const s of SHOP_SERVICES) {
      const block = new RegExp(`^  ${s.name}:\\n((?:    .*\\n|\\s*\\n)*)`, "m").exec(compose)?.[1] ?? "";
      expect(/^    ports:/m.test(block), s.name).toBe(s.exposure === "public");
    }
  });

  it("the launcher starts the manifest's services (its --help lists each with its default count)", () => {
    const help = execFileSync(process.execPath, [join(root, "scripts/start-distributed.ts"), "--help"], { encoding: "utf8" });
    for (const s of SHOP_SERVICES) expect(help).toMatch(new RegExp(`^  ${s.name} +x${s.defaultInstances} +${s.exposure}`, "m"));
  });

  it("the Dockerfile copies every folder the services import at run time", () => {
    const dockerfile = readFileSync(join(root, "deploy/Dockerfile"), "utf8");
    for (const folder of ["gen", "mesh", "services"]) expect(dockerfile).toMatch(new RegExp(`^COPY ${folder} ${folder}$`, "m"));
    const imports = new Set<string>();
    for (const name of servicesWithMain) {
      const main = readFileSync(join(root, "services", name, "main.ts"), "utf8");
      for (const m of main.matchAll(/from "\.\.\/\.\.\/([a-z-]+)\//g)) imports.add(m[1]);
    }
    for (const folder of imports) expect(dockerfile).toContain(`COPY ${folder} ${folder}`);
  });

  it("every service gets its own identity and NATS user as files, where MESH_TLS_DIR and MESH_NATS_NKEY_FILE point", () => {
    const k8s = readFileSync(join(root, "deploy/k8s/shop.yaml"), "utf8");
    expect(k8s).toContain('MESH_TLS_DIR: "/var/run/weft/tls"');
    expect(k8s).toContain('MESH_NATS_NKEY_FILE: "/var/run/weft/nats/nkey"');
    const compose = readFileSync(join(root, "deploy/compose.yaml"), "utf8");
    expect(compose).toMatch(/MESH_TLS_DIR: \/run\/weft\/tls\n\s+MESH_NATS_NKEY_FILE: \/run\/weft\/nats\/nkey/);
    for (const s of SHOP_SERVICES) {
      const deployment = k8s.split("\n---\n").find((d) => d.includes(`kind: Deployment\nmetadata:\n  name: ${s.name}\n`))!;
      expect(deployment, s.name).toContain(`csi.cert-manager.io/uri-sans: "spiffe://weft.local/svc/${s.name}"`);
      expect(deployment, s.name).toContain(`secretName: weft-nats-${s.name},`);
      expect(deployment, s.name).toContain("mountPath: /var/run/weft/tls");
      expect(deployment, s.name).toContain("mountPath: /var/run/weft/nats");
      expect(compose, s.name).toContain(`../.certs/${s.name}:/run/weft/tls:ro, ../.certs/nats/${s.name}.nk:/run/weft/nats/nkey:ro`);
    }
  });
});
