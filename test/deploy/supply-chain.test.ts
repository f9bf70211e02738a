// Issue 12, supply chain: package.json approves exactly the install scripts the lockfile holds, CI and
// the image install strictly, `npm run sbom` writes a valid CycloneDX SBOM of the production
// dependencies, and the image, compose file and Kubernetes manifests run non-root on a read-only root.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SHOP_SERVICES } from "../../services/manifest.ts";

const root = new URL("../../", import.meta.url).pathname;
const read = (file: string) => readFileSync(join(root, file), "utf8");
const pkg = JSON.parse(read("package.json")) as { allowScripts?: Record<string, boolean>; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version?: string; hasInstallScript?: boolean; dev?: boolean }> };
const out = mkdtempSync(join(tmpdir(), "weft-sbom-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("install scripts", () => {
  it("allowScripts names exactly the lockfile's packages with install scripts; only node's runs", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
      .sort();
    const names = Object.keys(pkg.allowScripts ?? {}).map((k) => k.replace(/(?<=.)@[^@]*$/, "")).sort();
    expect(names).toEqual(withScripts);
    // node's preinstall fetches the Node 24 binary the npm scripts run on; buf's binary comes from its
    // optional platform package and protobufjs's script only prints a version hint: both denied.
    expect(Object.entries(pkg.allowScripts!).filter(([, allowed]) => allowed).map(([k]) => k)).toEqual(["node"]);
  });

  it("CI and the image install in strict mode", () => {
    expect(read(".ci/run")).toMatch(/^npm ci .*--strict-allow-scripts/m);
    expect(read("deploy/Dockerfile")).toMatch(/^RUN npm ci .*--strict-allow-scripts/m);
  });
});

describe("npm run sbom", () => {
  it("writes CycloneDX JSON listing the production dependencies (and no dev dependency)", () => {
    const file = join(out, "sbom.json");
    const printed = execFileSync("npm", ["run", "--silent", "sbom", "--", "--out", file], { cwd: root, encoding: "utf8" });
    expect(printed).toMatch(/CycloneDX SBOM of \d+ production components/);
    const bom = JSON.parse(readFileSync(file, "utf8")) as {
      bomFormat: string; specVersion: string; serialNumber: string;
      metadata: { component: { name: string; type: string } };
      components: { name: string; version: string; purl: string; "bom-ref": string; type: string }[];
    };
    expect(bom.bomFormat).toBe("CycloneDX");
    expect(bom.specVersion).toMatch(/^1\.\d+$/);
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(bom.metadata.component).toMatchObject({ name: "weft", type: "application" });
    const byName = new Map(bom.components.map((c) => [c.name, c]));
    for (const dep of Object.keys(pkg.dependencies)) {
      const c = byName.get(dep);
      expect(c, dep).toBeDefined();
      expect(c!.version).toBe(lock.packages[`node_modules/${dep}`].version);
      expect(c!.purl).toBe(`pkg:npm/${dep.replace("@", "%40")}@${c!.version}`);
    }
    expect(byName.get("@connectrpc/connect")?.type).toBe("library");
    // Dev tools are out (a devDependency a production package also needs, like sdk-metrics, stays in).
    for (const dev of Object.keys(pkg.devDependencies)) if (lock.packages[`node_modules/${dev}`]?.dev === true) expect(byName.has(dev), dev).toBe(false);
    for (const tool of ["vitest", "typescript", "vite", "node"]) expect(byName.has(tool), tool).toBe(false);
    // Exactly the lockfile's production packages that are installed here (optional platform builds for
    // other systems are not): npm's own --omit dev missed ioredis and @bufbuild/protobuf.
    const installed = Object.entries(lock.packages)
      .filter(([path, p]) => path !== "" && p.dev !== true && existsSync(join(root, path, "package.json")))
      .map(([path, p]) => `${path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length)}@${p.version}`);
    expect(new Set(bom.components.map((c) => `${c.name}@${c.version}`))).toEqual(new Set(installed));
    // Every reference is unique, as the CycloneDX schema requires.
    expect(new Set(bom.components.map((c) => c["bom-ref"])).size).toBe(bom.components.length);
  });
});

describe("containers run non-root on a read-only root filesystem", () => {
  it("the Dockerfile's final user is a numeric non-root uid", () => {
    const users = [...read("deploy/Dockerfile").matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it("compose: every shop service is read-only, non-root, without capabilities, with a tmpfs /tmp", () => {
    const compose = read("deploy/compose.yaml");
    const anchor = /^x-service: &service\n((?: {2}.*\n|\s*\n)*)/m.exec(compose)?.[1] ?? "";
    expect(anchor).toMatch(/^ {2}read_only: true$/m);
    expect(anchor).toMatch(/^ {2}user: "[1-9]\d*:\d+"$/m);
    expect(anchor).toMatch(/^ {2}tmpfs: \["\/tmp[:"]/m);
    expect(anchor).toMatch(/^ {2}cap_drop: \[ALL\]$/m);
    expect(anchor).toMatch(/no-new-privileges:true/);
    for (const s of SHOP_SERVICES) {
      const block = new RegExp(`^  ${s.name}:\\n((?:    .*\\n|\\s*\\n)*)`, "m").exec(compose)?.[1] ?? "";
      expect(block, s.name).toMatch(/^ {4}<<: \*service$/m);
      expect(block, s.name).not.toMatch(/read_only: false|user: "?0|privileged: true/);
    }
  });

  it("Kubernetes: every Deployment's pod and container say runAsNonRoot and readOnlyRootFilesystem, /tmp is an emptyDir", () => {
    const deployments = read("deploy/k8s/shop.yaml").split(/^---$/m).filter((d) => /^kind: Deployment$/m.test(d));
    expect(deployments.map((d) => /^ {2}name: (\S+)/m.exec(d)?.[1]).sort()).toEqual(SHOP_SERVICES.map((s) => s.name).sort());
    for (const d of deployments) {
      const name = /^ {2}name: (\S+)/m.exec(d)![1];
      expect(d, name).toMatch(/^ {6}securityContext: \{[^}]*runAsNonRoot: true[^}]*runAsUser: [1-9]/m);
      expect(d, name).toMatch(/seccompProfile: \{ type: RuntimeDefault \}/);
      // The containers list ends where the pod's volumes begin (their items are indented alike).
      const containers = d.slice(d.indexOf("      containers:")).split(/^ {6}volumes:/m)[0].split(/^ {8}- name: /m).slice(1);
      expect(containers.length, name).toBeGreaterThan(0);
      for (const c of containers) {
        expect(c, name).toMatch(/^ {10}securityContext: \{ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: \{ drop: \[ALL\] \} \}$/m);
        // /tmp mounted, in the inline form or as the first item of a block list.
        expect(c, name).toMatch(/^ {10}volumeMounts:(?: \[| *\n {12}- )\{ name: tmp, mountPath: \/tmp \}/m);
      }
      expect(d, name).toMatch(/^ {6}volumes:(?: \[| *\n {8}- )\{ name: tmp, emptyDir: \{ medium: Memory/m);
    }
  });
});
