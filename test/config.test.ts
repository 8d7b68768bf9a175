import { spawnSync } from "node:child_process";
import { networkInterfaces } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { developmentSecret } from "../src/auth/tokens.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { createGateway } from "../src/gateway.js";
import { startupFailure } from "../src/startup-failure.js";
import { startTestGateway, testConfig } from "./helpers.js";

/** An address of this machine that is not loopback, to tell "every interface" from "loopback only". */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && address.family === "IPv4" && !address.internal)?.address;

describe("config", () => {
  it("has working defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 4000, HOST: "127.0.0.1", DATA_DIR: "./data", LOG_LEVEL: "info", NODE_ENV: "development", CORS_ORIGINS: [] });
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).HOST).toBe("0.0.0.0");
    expect(loadConfig({ CORS_ORIGINS: "https://dash.example.com, http://localhost:5173" }).CORS_ORIGINS).toEqual([
      "https://dash.example.com",
      "http://localhost:5173",
    ]);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.DATABASE_STATEMENT_CACHE_SIZE).toBe(100);
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
    ["RATE_LIMIT_WINDOW_MS", "1500"],
    ["GRAPHIQL", "yes"],
    ["CORS_ORIGINS", "https://dash.example.com/app"],
    ["CORS_ORIGINS", "*"],
    ["SHUTDOWN_DRAIN_MS", "soon"],
    ["DATABASE_STATEMENT_CACHE_SIZE", "-1"],
  ])("rejects a bad %s and names it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(name));
  });

  it("delays a shutdown by SHUTDOWN_DRAIN_MS: 5 s in production (at most half of SHUTDOWN_TIMEOUT_MS), none elsewhere, never the whole timeout", () => {
    const production = { NODE_ENV: "production", JWT_SECRET: "x".repeat(32) };
    expect(loadConfig({}).SHUTDOWN_DRAIN_MS).toBe(0);
    expect(loadConfig(production).SHUTDOWN_DRAIN_MS).toBe(5_000);
    expect(loadConfig({ ...production, SHUTDOWN_TIMEOUT_MS: "3000" }).SHUTDOWN_DRAIN_MS).toBe(1_500);
    expect(loadConfig({ ...production, SHUTDOWN_DRAIN_MS: "0" }).SHUTDOWN_DRAIN_MS).toBe(0);
    expect(loadConfig({ SHUTDOWN_DRAIN_MS: "15000", SHUTDOWN_TIMEOUT_MS: "30000" }).SHUTDOWN_DRAIN_MS).toBe(15_000);
    expect(() => loadConfig({ SHUTDOWN_DRAIN_MS: "10000" })).toThrowError(/SHUTDOWN_DRAIN_MS: must be less than SHUTDOWN_TIMEOUT_MS/);
  });

  it("turns GraphiQL on outside production unless GRAPHIQL says otherwise", () => {
    const secret = { JWT_SECRET: "x".repeat(32) };
    expect(loadConfig({}).graphiqlEnabled).toBe(true);
    expect(loadConfig({ GRAPHIQL: "off" }).graphiqlEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", ...secret }).graphiqlEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", GRAPHIQL: "on", ...secret }).graphiqlEnabled).toBe(true);
  });

  it("requires a token key in production: JWT_SECRET, JWT_JWKS_URL or JWT_JWKS_FILE", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrowError(/JWT_SECRET.*JWT_JWKS_URL or JWT_JWKS_FILE/);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).isProduction).toBe(true);
    expect(loadConfig({ NODE_ENV: "production", JWT_JWKS_URL: "https://id.example.test/.well-known/jwks.json" }).isProduction).toBe(true);
    expect(loadConfig({ NODE_ENV: "production", JWT_JWKS_FILE: "/etc/inbox/jwks.json" }).isProduction).toBe(true);
  });

  it("serves metrics on a port of their own", () => {
    expect(() => loadConfig({ PORT: "9464", METRICS_PORT: "9464" })).toThrowError(/METRICS_PORT: must differ from PORT/);
    expect(loadConfig({ PORT: "4000", METRICS_PORT: "9464" }).METRICS_PORT).toBe(9464);
  });

  it("takes one kind of token key only, and a JWKS URL must be http(s)", () => {
    expect(() => loadConfig({ JWT_SECRET: "x".repeat(32), JWT_JWKS_FILE: "/etc/inbox/jwks.json" })).toThrowError(/only one of JWT_SECRET/);
    expect(() => loadConfig({ JWT_JWKS_URL: "https://a.test/jwks", JWT_JWKS_FILE: "/etc/inbox/jwks.json" })).toThrowError(/only one of/);
    expect(() => loadConfig({ JWT_JWKS_URL: "ftp://a.test/jwks" })).toThrowError(/JWT_JWKS_URL/);
    // Plain HTTP only outside production, or to a sidecar on the same host.
    expect(loadConfig({ JWT_JWKS_URL: "http://id.example.test/jwks" }).JWT_JWKS_URL).toBe("http://id.example.test/jwks");
    expect(() => loadConfig({ NODE_ENV: "production", JWT_JWKS_URL: "http://id.example.test/jwks" })).toThrowError(/JWT_JWKS_URL: must be an https:\/\/ URL when NODE_ENV=production/);
    expect(() => loadConfig({ NODE_ENV: "production", JWT_JWKS_URL: "http://localhost.evil.test/jwks" })).toThrowError(/JWT_JWKS_URL/);
    for (const local of ["http://localhost:8080/jwks", "http://127.0.0.1/jwks", "http://[::1]:9000/jwks"]) {
      expect(loadConfig({ NODE_ENV: "production", JWT_JWKS_URL: local }).JWT_JWKS_URL).toBe(local);
    }
  });

  it("the server refuses to start in production without a token key, and says why", async () => {
    const child = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: path.resolve(import.meta.dirname, ".."),
      env: { ...process.env, NODE_ENV: "production", JWT_SECRET: "", JWT_JWKS_URL: "", JWT_JWKS_FILE: "", DATA_DIR: "memory://" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(child.status).toBe(78);
    expect(child.stderr).toMatch(/JWT_SECRET: no token key is configured/);
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

  it.skipIf(!outsideAddress)("listens on loopback only outside production unless HOST names an interface", async () => {
    const t = await startTestGateway({ seed: false });
    const everywhere = await createGateway(testConfig({ HOST: "0.0.0.0" }), { db: t.db });
    try {
      const open = await everywhere.listen(0);
      expect(open.hostname).toBe("localhost");
      expect((await fetch(`http://${outsideAddress}:${open.port}/health`)).status).toBe(200);
      const local = await t.gateway.listen(0);
      expect((await fetch(`http://127.0.0.1:${local.port}/health`)).status).toBe(200);
      await expect(fetch(`http://${outsideAddress}:${local.port}/health`)).rejects.toThrow();
    } finally {
      await everywhere.close();
      await t.close();
    }
  });
});

describe("start failures, said for people", () => {
  // What src/main.ts prints and exits with (test/process.test.ts runs the real process for a taken PORT).
  const failureOf = (code: string, where: Parameters<typeof startupFailure>[1]) => startupFailure(Object.assign(new Error(`getaddrinfo ${code}`), { code }), where);

  it("names the setting at fault: the port's for a taken port, HOST for an address that is not this machine's, DATABASE_URL for a database", () => {
    expect(failureOf("EADDRINUSE", { host: "127.0.0.1", port: 9464, portSetting: "METRICS_PORT" })).toEqual({
      message: "Cannot listen on 127.0.0.1:9464 (EADDRINUSE): set METRICS_PORT (and HOST) to a free address of this machine.",
      exitCode: 69,
    });
    expect(failureOf("ENOTFOUND", { host: "no-such-host.invalid", port: 4000, portSetting: "PORT" })).toEqual({
      message: "Cannot listen on no-such-host.invalid:4000 (ENOTFOUND): set HOST to a free address of this machine.",
      exitCode: 69,
    });
    expect(failureOf("ENOTFOUND", { databaseUrl: "postgresql://app:secret@db.invalid/inbox" })?.message).toMatch(
      /^Cannot open the PostgreSQL database at postgresql:\/\/app:\*\*\*@db\.invalid\/inbox: .*Check DATABASE_URL\.$/,
    );
  });

  it("a DATA_DIR that cannot be a folder is a setting to fix, not a stack trace", async () => {
    const error = await developmentSecret("/etc/passwd").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(startupFailure(error)).toEqual({ message: expect.stringContaining("DATA_DIR: cannot keep the development secret in /etc/passwd (EEXIST)"), exitCode: 78 });
  });
});
