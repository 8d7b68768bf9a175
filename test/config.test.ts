import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

describe("config", () => {
  it("has working defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 4000, DATA_DIR: "./data", LOG_LEVEL: "info", NODE_ENV: "development" });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it.each([
    ["PORT", "eighty"],
    ["DATABASE_URL", "mysql://localhost/db"],
    ["REDIS_URL", "localhost:6379"],
    ["LOG_LEVEL", "loud"],
    ["JWT_SECRET", "short"],
    ["GRAPHIQL", "yes"],
  ])("rejects a bad %s and names it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(name));
  });

  it("turns GraphiQL on outside production unless GRAPHIQL says otherwise", () => {
    const secret = { JWT_SECRET: "x".repeat(32) };
    expect(loadConfig({}).graphiqlEnabled).toBe(true);
    expect(loadConfig({ GRAPHIQL: "off" }).graphiqlEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", ...secret }).graphiqlEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", GRAPHIQL: "on", ...secret }).graphiqlEnabled).toBe(true);
  });

  it("requires a real signing secret in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrowError(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).isProduction).toBe(true);
  });
});
