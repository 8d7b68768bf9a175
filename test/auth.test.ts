import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAgentToken, type TokenSubject } from "../src/auth/tokens.js";
import { ConfigError } from "../src/config.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData } from "../src/db/seed.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { freshDatabase, TEST_JWT_SECRET, testConfig } from "./helpers.js";

// One small seeded database; several gateways on it, each with another way of checking tokens.
let database: Awaited<ReturnType<typeof freshDatabase>>;
let admin: TokenSubject;
const gateways: Gateway[] = [];
const jwksServers: Server[] = [];

beforeAll(async () => {
  database = await freshDatabase();
  await migrate(database.db);
  await seedDemoData(database.db.prisma, { contacts: 3, conversations: 3 });
  const row = await database.db.prisma.agent.findFirstOrThrow({ where: { role: "ADMIN" }, orderBy: { createdAt: "asc" } });
  admin = { agentId: row.id, workspaceId: row.workspaceId, role: row.role };
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  for (const s of jwksServers) s.close();
  await database?.drop();
});

async function gatewayWith(config: Record<string, string>): Promise<Gateway> {
  const gateway = await createGateway(testConfig(config), { db: database.db });
  gateways.push(gateway);
  return gateway;
}

const QUERY = `{ viewer { id role } conversationCounts { open } }`;

async function ask(gateway: Gateway, headers: Record<string, string>, query = QUERY) {
  const res = await gateway.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string; extensions?: any }[] }) };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function expectRefused(gateway: Gateway, headers: Record<string, string>, message?: RegExp) {
  const res = await ask(gateway, headers);
  expect(res.status).toBe(401);
  expect(res.data).toBeUndefined();
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
  if (message) expect(res.errors![0].message).toMatch(message);
}

const claims = () => ({ workspaceId: admin.workspaceId, role: admin.role });

describe("HS256 tokens (JWT_SECRET)", () => {
  let g: Gateway;
  beforeAll(async () => {
    g = await gatewayWith({ JWT_ISSUER: "https://id.example.test", JWT_AUDIENCE: "inbox-gateway" });
  });
  const sign = (payload: object, options: jwt.SignOptions = {}, secret = TEST_JWT_SECRET) =>
    jwt.sign(payload, secret, { algorithm: "HS256", subject: admin.agentId, issuer: "https://id.example.test", audience: "inbox-gateway", expiresIn: "5m", ...options });

  it("accepts a valid token and resolves the caller from its claims", async () => {
    const res = await ask(g, bearer(sign(claims())));
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer).toEqual({ id: admin.agentId, role: "ADMIN" });
  });

  it("refuses a request without credentials, before parsing it (no schema errors leak)", async () => {
    await expectRefused(g, {}, /Authorization: Bearer/);
    const res = await ask(g, {}, `{ noSuchField }`);
    expect(res.status).toBe(401);
    expect(res.errors![0].extensions.code).toBe("UNAUTHENTICATED");
    expect(JSON.stringify(res)).not.toContain("noSuchField");
  });

  it("refuses an expired token", async () => {
    await expectRefused(g, bearer(sign(claims(), { expiresIn: -60 })), /expired/);
  });

  it("refuses a token that is not valid yet", async () => {
    await expectRefused(g, bearer(sign(claims(), { notBefore: "10m" })), /not valid before/);
  });

  it("refuses a token for another audience", async () => {
    await expectRefused(g, bearer(sign(claims(), { audience: "another-service" })), /audience/);
  });

  it("refuses a token from another issuer", async () => {
    await expectRefused(g, bearer(sign(claims(), { issuer: "https://evil.example.test" })), /issuer/);
  });

  it("refuses a token with a wrong signature", async () => {
    await expectRefused(g, bearer(sign(claims(), {}, "another-secret-another-secret-another-secret")), /signature/);
    // A valid token whose claims are swapped for another workspace's keeps its old signature.
    const [header, , signature] = sign(claims()).split(".");
    const tampered = Buffer.from(JSON.stringify({ ...claims(), role: "ADMIN", sub: admin.agentId, workspaceId: "wsp_000000000000other" })).toString("base64url");
    await expectRefused(g, bearer(`${header}.${tampered}.${signature}`), /signature/);
  });

  it("refuses an unsigned token (alg: none)", async () => {
    const unsigned = jwt.sign({ ...claims(), iss: "https://id.example.test", aud: "inbox-gateway" }, null, { algorithm: "none", subject: admin.agentId });
    expect(unsigned.split(".")[2]).toBe("");
    await expectRefused(g, bearer(unsigned), /none/);
  });

  it("refuses malformed credentials and tokens without an agent's claims", async () => {
    await expectRefused(g, bearer("not-a-jwt"), /well-formed/);
    await expectRefused(g, { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` }, /Bearer/);
    await expectRefused(g, bearer(sign({ role: "ADMIN" })), /claim/);
    await expectRefused(g, bearer(sign({ ...claims(), role: "OWNER" })), /claim/);
  });

  it("refuses a token that never expires (no exp claim)", async () => {
    const forever = jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: "HS256", subject: admin.agentId, issuer: "https://id.example.test", audience: "inbox-gateway" });
    expect(jwt.decode(forever)).not.toHaveProperty("exp");
    await expectRefused(g, bearer(forever), /exp claim/);
  });

  it("serves GraphiQL's page, /health and /ready without credentials", async () => {
    const page = await g.fetch("/graphql", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
    expect((await g.fetch("/health")).status).toBe(200);
    expect((await g.fetch("/ready")).status).toBe(200);
    // A GET query is still an operation: it needs a token.
    const get = await g.fetch(`/graphql?query=${encodeURIComponent("{ agents { id } }")}`, { headers: { accept: "application/json" } });
    expect(get.status).toBe(401);
  });
});

/** A key pair with its public half as a JWK, as an identity provider publishes it. */
function keyPair(kind: "rsa" | "ec", kid: string): { privateKey: KeyObject; jwk: object } {
  const pair = kind === "rsa" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, use: "sig" } };
}

describe("a valid token's agent as the database has it now", () => {
  // A second agent of the workspace, changed by SQL the way an operator would, then put back.
  let agent: TokenSubject;
  const set = (data: { active?: boolean; role?: "VIEWER" | "AGENT" | "ADMIN" }) => database.db.prisma.agent.update({ where: { id: agent.agentId }, data });
  beforeAll(async () => {
    const row = await database.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: admin.workspaceId, role: "AGENT", active: true } });
    agent = { agentId: row.id, workspaceId: row.workspaceId, role: "ADMIN" };
    await set({ role: "ADMIN" });
  });
  afterAll(() => set({ active: true, role: "AGENT" }));
  const createKey = async (gateway: Gateway, subject = agent) => {
    const res = await gateway.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(signAgentToken(TEST_JWT_SECRET, subject)) },
      body: JSON.stringify({ query: `mutation { createApiKey(name: "standing") { apiKey { id } } }` }),
    });
    const body = (await res.json()) as { errors?: { extensions: { code: string } }[] };
    return body.errors?.[0].extensions.code ?? "OK";
  };

  it("a deactivated agent's token is refused; a demoted agent acts with its new role, never above its token's", async () => {
    const g = await gatewayWith({ AGENT_RECHECK_MS: "0" });
    expect(await createKey(g)).toBe("OK");
    await set({ active: false });
    await expectRefused(g, bearer(signAgentToken(TEST_JWT_SECRET, agent)), /^This agent has been deactivated\.$/);
    await set({ active: true, role: "VIEWER" });
    expect(await createKey(g)).toBe("FORBIDDEN");
    // An ADMIN in the database, with a token that says AGENT: the token's role is the ceiling.
    await set({ role: "ADMIN" });
    expect(await createKey(g)).toBe("OK");
    expect(await createKey(g, { ...agent, role: "AGENT" })).toBe("FORBIDDEN");
  });

  it("a token whose agent is missing, or of another workspace, is refused", async () => {
    const g = await gatewayWith({});
    await expectRefused(g, bearer(signAgentToken(TEST_JWT_SECRET, { ...agent, agentId: "agt_doesnotexist0000" })), /not an agent of its workspace/);
    await expectRefused(g, bearer(signAgentToken(TEST_JWT_SECRET, { ...agent, workspaceId: "wsp_doesnotexist0000" })), /not an agent of its workspace/);
  });

  it("reads an agent's standing once per AGENT_RECHECK_MS, not on every request", async () => {
    const g = await gatewayWith({ AGENT_RECHECK_MS: "60000" });
    const checks: string[] = [];
    const stop = database.db.sql.subscribe((statement) => {
      if (/FROM "Agent" WHERE "id" = \$1/.test(statement.sql)) checks.push(statement.sql);
    });
    try {
      const token = bearer(signAgentToken(TEST_JWT_SECRET, agent));
      for (let i = 0; i < 20; i++) expect((await ask(g, token)).errors).toBeUndefined();
    } finally {
      stop();
    }
    expect(checks).toHaveLength(1);
  });
});

describe("RS256 and ES256 tokens from a JWKS", () => {
  const rsa = keyPair("rsa", "rsa-1");
  const ec = keyPair("ec", "ec-1");
  const stranger = keyPair("rsa", "rsa-1");
  const jwks = JSON.stringify({ keys: [rsa.jwk, ec.jwk] });
  const signWith = (key: KeyObject, algorithm: jwt.Algorithm, kid: string | undefined, options: jwt.SignOptions = {}) =>
    jwt.sign(claims(), key, { algorithm, subject: admin.agentId, expiresIn: "5m", ...(kid ? { keyid: kid } : {}), ...options });

  let fromFile: Gateway;
  let fromUrl: Gateway;
  beforeAll(async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "inbox-jwks-")), "jwks.json");
    writeFileSync(file, jwks);
    fromFile = await gatewayWith({ JWT_SECRET: "", JWT_JWKS_FILE: file, JWT_AUDIENCE: "inbox-gateway" });
    const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(jwks));
    jwksServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fromUrl = await gatewayWith({ JWT_SECRET: "", JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` });
  });

  it("accepts RS256 and ES256 tokens signed by a key of the set (file and URL)", async () => {
    for (const token of [signWith(rsa.privateKey, "RS256", "rsa-1", { audience: "inbox-gateway" }), signWith(ec.privateKey, "ES256", "ec-1", { audience: "inbox-gateway" })]) {
      const res = await ask(fromFile, bearer(token));
      expect(res.errors).toBeUndefined();
      expect(res.data.viewer.id).toBe(admin.agentId);
    }
    for (const token of [signWith(rsa.privateKey, "RS256", "rsa-1"), signWith(ec.privateKey, "ES256", "ec-1")]) {
      expect((await ask(fromUrl, bearer(token))).data.viewer.id).toBe(admin.agentId);
    }
  });

  it("refuses a token signed by a key outside the set, with an unknown kid, or for another audience", async () => {
    for (const g of [fromFile, fromUrl]) {
      await expectRefused(g, bearer(signWith(stranger.privateKey, "RS256", "rsa-1", { audience: "inbox-gateway" })), /signature/);
      await expectRefused(g, bearer(signWith(rsa.privateKey, "RS256", "rsa-9", { audience: "inbox-gateway" })), /key id/);
    }
    await expectRefused(fromFile, bearer(signWith(rsa.privateKey, "RS256", "rsa-1", { audience: "other" })), /audience/);
  });

  it("refuses, as UNAUTHENTICATED, a token whose algorithm is not its key's (an ES256 token naming the RSA key, and the reverse)", async () => {
    for (const g of [fromFile, fromUrl]) {
      await expectRefused(g, bearer(signWith(ec.privateKey, "ES256", "rsa-1", { audience: "inbox-gateway" })), /algorithm \(ES256\) is not its key's/);
      await expectRefused(g, bearer(signWith(rsa.privateKey, "RS256", "ec-1", { audience: "inbox-gateway" })), /algorithm \(RS256\) is not its key's/);
    }
  });

  it("fetches a JWKS URL once for a known kid, again for a new kid after rotation, and at most 10 times a minute for unknown kids", async () => {
    const rotated = keyPair("rsa", "rsa-2");
    let served = JSON.stringify({ keys: [rsa.jwk] });
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(served);
    });
    jwksServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const rotating = await gatewayWith({ JWT_SECRET: "", JWT_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json` });

    for (let i = 0; i < 5; i++) expect((await ask(rotating, bearer(signWith(rsa.privateKey, "RS256", "rsa-1")))).data.viewer.id).toBe(admin.agentId);
    expect(fetches).toBe(1);
    // The identity provider adds a key and starts signing with it: its first token fetches the set again.
    served = JSON.stringify({ keys: [rsa.jwk, rotated.jwk] });
    expect((await ask(rotating, bearer(signWith(rotated.privateKey, "RS256", "rsa-2")))).data.viewer.id).toBe(admin.agentId);
    expect(fetches).toBe(2);
    // Tokens with made-up key ids cannot make the gateway hammer the identity provider.
    for (let i = 0; i < 20; i++) await expectRefused(rotating, bearer(signWith(rsa.privateKey, "RS256", `made-up-${i}`)), /No signing key matches the token's key id \(kid made-up-/);
    expect(fetches).toBeLessThanOrEqual(2 + 10);
  });

  it("refuses HS256 tokens, even one signed with the public key as the secret (algorithm confusion)", async () => {
    const publicPem = createPublicKey(rsa.privateKey).export({ type: "spki", format: "pem" }).toString();
    const confused = jwt.sign(claims(), publicPem, { algorithm: "HS256", subject: admin.agentId, keyid: "rsa-1", audience: "inbox-gateway", allowInsecureKeySizes: true } as jwt.SignOptions);
    await expectRefused(fromFile, bearer(confused), /HS256/);
    await expectRefused(fromFile, bearer(signAgentToken(TEST_JWT_SECRET, admin)), /HS256/);
  });

  it("refuses unsigned and expired tokens", async () => {
    const unsigned = jwt.sign(claims(), null, { algorithm: "none", subject: admin.agentId, keyid: "rsa-1" });
    await expectRefused(fromUrl, bearer(unsigned), /none/);
    await expectRefused(fromUrl, bearer(signWith(rsa.privateKey, "RS256", "rsa-1", { expiresIn: -10 })), /expired/);
  });

  it("a JWKS file that is not a key set stops the start and names JWT_JWKS_FILE", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "inbox-jwks-")), "broken.json");
    writeFileSync(file, "{ not json");
    await expect(createGateway(testConfig({ JWT_SECRET: "", JWT_JWKS_FILE: file }), { db: database.db })).rejects.toThrowError(ConfigError);
    await expect(createGateway(testConfig({ JWT_SECRET: "", JWT_JWKS_FILE: file }), { db: database.db })).rejects.toThrowError(/JWT_JWKS_FILE/);
  });
});

describe("out of the box", () => {
  it("without JWT_SECRET outside production: a development secret, a ready admin token, GraphiQL sends it", async () => {
    const g = await gatewayWith({ JWT_SECRET: "", NODE_ENV: "development" });
    expect(g.devToken).toBeTruthy();
    expect(g.jwtSecret).not.toBe(TEST_JWT_SECRET);
    const res = await ask(g, bearer(g.devToken!));
    expect(res.data.viewer).toEqual({ id: admin.agentId, role: "ADMIN" });
    // Each page signs its own token: compared with devToken it would differ whenever a second
    // boundary fell in between (iat), so the page's token is checked for what it gives.
    const page = await (await g.fetch("/graphql", { headers: { accept: "text/html" } })).text();
    const pageToken = /Bearer (eyJ[\w-]+\.[\w-]+\.[\w-]+)/.exec(page)?.[1];
    expect(pageToken).toBeTruthy();
    expect((await ask(g, bearer(pageToken!))).data.viewer).toEqual({ id: admin.agentId, role: "ADMIN" });
  });

  it("in production: no development token and no prefilled header", async () => {
    const g = await gatewayWith({ NODE_ENV: "production" });
    expect(g.devToken).toBeNull();
    const page = await (await g.fetch("/graphql", { headers: { accept: "text/html" } })).text();
    expect(page).not.toMatch(/Bearer ey/);
  });
});
