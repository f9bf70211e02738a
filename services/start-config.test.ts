import { describe, expect, it } from "vitest";
import { newSigningKeysSetting } from "./identity/index.ts";
import { exampleCommands, readSigningKeys, readStartConfig, ShopConfigError, WEFT_ERR_SHOP_CONFIG } from "./start-config.ts";

describe("npm start configuration", () => {
  it("defaults to 127.0.0.1:8080 with the page on it, piscina and a generated token key", async () => {
    const config = readStartConfig({});
    expect(config).toMatchObject({ hostname: "127.0.0.1", port: 8080, web: true, corsOrigins: [], compute: "piscina", signingKeys: undefined });
    expect((await readSigningKeys(config.signingKeys)).generated).toBe(true);
  });

  it("reads PORT, HOST, WEB, CORS_ORIGINS, COMPUTE and IDENTITY_SIGNING_KEYS", async () => {
    const secret = await newSigningKeysSetting();
    const config = readStartConfig({
      PORT: "9000",
      HOST: "0.0.0.0",
      WEB: "off",
      CORS_ORIGINS: "https://a.example, https://b.example",
      COMPUTE: "inline",
      IDENTITY_SIGNING_KEYS: secret,
    });
    expect(config).toMatchObject({ hostname: "0.0.0.0", port: 9000, web: false, compute: "inline" });
    const keys = await readSigningKeys(config.signingKeys);
    expect(keys.generated).toBe(false);
    expect(keys.keys.kid).toBe(JSON.parse(secret).keys[0].kid);
    await expect(readSigningKeys("{}")).rejects.toMatchObject({ code: WEFT_ERR_SHOP_CONFIG, message: expect.stringMatching(/^IDENTITY_SIGNING_KEYS /) });
    expect(config.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(readStartConfig({ PORT: "0" }).port).toBe(0);
    expect(readStartConfig({ WEB: "on" }).web).toBe(true);
    expect(readStartConfig({ WEB: "" }).web).toBe(true);
  });

  it("fails fast with WEFT_ERR_SHOP_CONFIG naming the variable", () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ PORT: "80a" }, /^PORT is "80a", set PORT to a port number/],
      [{ PORT: "70000" }, /^PORT is "70000", set PORT to a port number/],
      [{ WEB: "no" }, /^WEB is "no", set WEB to "on" or "off"/],
      [{ WEB_PORT: "8081" }, /^WEB_PORT is no longer used: the storefront page is served on PORT; set WEB=off/],
      [{ WEB_PORT: "off" }, /^WEB_PORT is no longer used/],
      [{ COMPUTE: "gpu" }, /^COMPUTE is "gpu", set COMPUTE to "piscina" or "inline"/],
      [{ CORS_ORIGINS: "notanorigin" }, /^CORS_ORIGINS holds "notanorigin", which is not an origin, set CORS_ORIGINS to comma-separated origins/],
      [{ CORS_ORIGINS: "https://a.example, https://b.example/path" }, /^CORS_ORIGINS holds "https:\/\/b.example\/path", .*set CORS_ORIGINS to/],
      [{ CORS_ORIGINS: "https://a.example/" }, /^CORS_ORIGINS holds "https:\/\/a.example\/", .*set CORS_ORIGINS to/],
      [{ IDENTITY_TOKEN_SECRET: "c2hvcnQ" }, /^IDENTITY_TOKEN_SECRET is no longer used: .*set IDENTITY_SIGNING_KEYS instead/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        readStartConfig(env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ShopConfigError);
      expect((error as ShopConfigError).code).toBe(WEFT_ERR_SHOP_CONFIG);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("prints three commands against the given URL", () => {
    const commands = exampleCommands("http://127.0.0.1:1234").map((c) => c.command);
    expect(commands).toHaveLength(3);
    for (const command of commands) expect(command).toContain("http://127.0.0.1:1234/");
  });
});
