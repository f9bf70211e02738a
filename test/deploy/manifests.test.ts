// The deploy files name service entry points by path; this keeps them in step with services/.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;
const servicesWithMain = readdirSync(join(root, "services"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, "services", d.name, "main.ts")))
  .map((d) => d.name)
  .sort();

function entryPoints(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...new Set([...text.matchAll(/services\/([a-z-]+)\/main\.ts/g)].map((m) => m[1]))].sort();
}

describe("deploy manifests", () => {
  it("has at least the five shop services with a main.ts", () => {
    expect(servicesWithMain).toEqual(expect.arrayContaining(["catalog", "gateway", "identity", "inventory", "orders"]));
  });

  for (const file of ["deploy/compose.yaml", "deploy/k8s/shop.yaml"]) {
    it(`${file} runs exactly the services that have a main.ts`, () => {
      expect(entryPoints(file)).toEqual(servicesWithMain);
    });
  }

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
});
