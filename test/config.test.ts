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
    ["MAX_REQUEST_BODY_BYTES", "100kb"],
    ["GRAPHQL_MAX_DEPTH", "0"],
    ["GRAPHQL_BATCH_LIMIT", "1000"],
    ["GRAPHQL_INTROSPECTION", "yes please"],
    ["RATE_LIMIT_MAX", "-1"],
  ])("rejects a bad %s and names it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(name));
  });

  it("requires a real signing secret in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrowError(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).isProduction).toBe(true);
  });

  it("has hostile-input limits whose defaults depend on NODE_ENV where they should", () => {
    const development = loadConfig({});
    expect(development).toMatchObject({
      MAX_REQUEST_BODY_BYTES: 102_400,
      GRAPHQL_MAX_DEPTH: 10,
      GRAPHQL_MAX_ALIASES: 15,
      GRAPHQL_MAX_TOKENS: 2000,
      GRAPHQL_BATCH_LIMIT: 0,
      GRAPHQL_INTROSPECTION: true,
      RATE_LIMIT_MAX: 0,
    });
    const production = loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) });
    expect(production).toMatchObject({ GRAPHQL_INTROSPECTION: false, RATE_LIMIT_MAX: 600 });
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32), GRAPHQL_INTROSPECTION: "on", RATE_LIMIT_MAX: "0" })).toMatchObject({
      GRAPHQL_INTROSPECTION: true,
      RATE_LIMIT_MAX: 0,
    });
  });
});
