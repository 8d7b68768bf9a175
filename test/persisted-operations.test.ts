import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../src/config.js";
import { newId } from "../src/domain/ids.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { sha256, shippedOperations } from "../src/graphql/operations.js";
import { APQ_SHARED_TTL_SECONDS, apqSharedKey } from "../src/plugins/persisted-operations.js";
import { freePort } from "./free-port.js";
import { startTestGateway, testConfig, type GraphQLResponse, type TestGateway } from "./helpers.js";
import { wsClient } from "./live.js";

const MANIFEST = fileURLToPath(new URL("../src/graphql/operations/persisted-documents.json", import.meta.url));
const manifest = JSON.parse(readFileSync(MANIFEST, "utf8")) as Record<string, string>;
const hashOf = (operationName: string) => Object.keys(manifest).find((hash) => manifest[hash]!.includes(`${operationName}(`) || manifest[hash]!.includes(`${operationName} {`))!;

// One seeded database; each test makes the gateway (configuration) it needs on top of it.
let t: TestGateway;
let token: string;
const gateways: Gateway[] = [];
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 10, conversations: 20 } });
  token = await t.token();
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await t?.close();
});

async function gateway(config: Record<string, string> = {}): Promise<Gateway> {
  const created = await createGateway(testConfig(config), { db: t.db });
  gateways.push(created);
  return created;
}

function post(g: Gateway, body: Record<string, unknown>, as: string | null = token): Promise<GraphQLResponse<any>> {
  return g
    .fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...(as ? { authorization: `Bearer ${as}` } : {}) },
      body: JSON.stringify(body),
    })
    .then(async (r) => ({ status: r.status, ...(await r.json()) }));
}
const byHash = (sha256Hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash } } });
const codeOf = (response: GraphQLResponse<unknown>) => response.errors?.map((e) => e.extensions?.code);

describe("trusted documents (PERSISTED_OPERATIONS)", () => {
  let strict: Gateway;
  beforeAll(async () => {
    strict = await gateway({ PERSISTED_OPERATIONS: MANIFEST });
  });

  it("runs a listed operation sent by its hash, with variables, as Apollo's extension or as documentId", async () => {
    const inbox = await post(strict, { ...byHash(hashOf("InboxPage")), variables: { first: 2 } });
    expect(inbox.errors).toBeUndefined();
    expect(inbox.data.conversations.edges).toHaveLength(2);
    const detail = await post(strict, {
      documentId: `sha256:${hashOf("ConversationDetail")}`,
      variables: { id: t.seed!.demoConversationId },
    });
    expect(detail.errors).toBeUndefined();
    expect(detail.data.conversation.id).toBe(t.seed!.demoConversationId);
  });

  it("answers an unknown hash with PERSISTED_QUERY_NOT_FOUND, the message and code clients retry on", async () => {
    const response = await post(strict, byHash(sha256("query Unknown { viewer { id } }")));
    expect(response.errors).toEqual([expect.objectContaining({ message: "PersistedQueryNotFound", extensions: expect.objectContaining({ code: "PERSISTED_QUERY_NOT_FOUND" }) })]);
    expect(response.data ?? null).toBeNull();
  });

  it("refuses an ad-hoc document with FORBIDDEN and says what to send instead, even a listed one sent as text", async () => {
    for (const query of ["{ viewer { id } }", manifest[hashOf("Sidebar")]!]) {
      const response = await post(strict, { query });
      expect(codeOf(response)).toEqual(["FORBIDDEN"]);
      expect(response.errors![0]!.message).toMatch(/trusted documents only.*hash/);
      expect(response.data ?? null).toBeNull();
    }
    // Sending the document along with its hash (an APQ registration) is refused too.
    const registration = await post(strict, { query: "{ viewer { id } }", ...byHash(sha256("{ viewer { id } }")) });
    expect(codeOf(registration)).toEqual(["FORBIDDEN"]);
  });

  it("asks for a hash when a request has neither document nor hash", async () => {
    expect(codeOf(await post(strict, { variables: {} }))).toEqual(["BAD_USER_INPUT"]);
  });

  it("still runs listed mutations, still checks authentication", async () => {
    const close = await post(strict, { ...byHash(hashOf("UpdateConversationStatus")), variables: { id: t.seed!.demoConversationId, status: "OPEN" } });
    expect(close.errors).toBeUndefined();
    expect(close.data.updateConversationStatus.status).toBe("OPEN");
    const anonymous = await strict.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(byHash(hashOf("Sidebar"))),
    });
    expect(((await anonymous.json()) as GraphQLResponse<unknown>).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("lets ad-hoc documents through in development, so GraphiQL keeps working, and on request elsewhere", async () => {
    for (const config of [{ NODE_ENV: "development" }, { PERSISTED_OPERATIONS_ADHOC: "on" }] as Record<string, string>[]) {
      const open = await gateway({ PERSISTED_OPERATIONS: MANIFEST, ...config });
      expect((await post(open, { query: "{ viewer { id } }" })).errors).toBeUndefined();
      expect((await post(open, byHash(hashOf("Sidebar")))).errors).toBeUndefined();
      expect(codeOf(await post(open, byHash(sha256("{ agents { id } }"))))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    }
  });

  it("never lets ad-hoc documents through in production", () => {
    expect(() => testConfig({ NODE_ENV: "production", PERSISTED_OPERATIONS_ADHOC: "on" })).toThrowError(/PERSISTED_OPERATIONS_ADHOC/);
    expect(testConfig({ NODE_ENV: "production" }).allowAdhocOperations).toBe(false);
    expect(testConfig({ NODE_ENV: "development" }).allowAdhocOperations).toBe(true);
  });

  it("stops the start, naming the variable, when the manifest cannot be used", async () => {
    const folder = mkdtempSync(path.join(tmpdir(), "inbox-manifest-"));
    const write = (name: string, text: string) => {
      writeFileSync(path.join(folder, name), text);
      return path.join(folder, name);
    };
    const cases: [string, RegExp][] = [
      [path.join(folder, "missing.json"), /PERSISTED_OPERATIONS: cannot read .*missing\.json \(ENOENT\)/],
      [write("broken.json", "{ not json"), /PERSISTED_OPERATIONS: .*broken\.json is not JSON/],
      [write("list.json", "[]"), /PERSISTED_OPERATIONS: .*must be a JSON object/],
      [write("empty.json", "{}"), /PERSISTED_OPERATIONS: .*lists no operations/],
      [write("stale.json", JSON.stringify({ abc: "query Old { conversationz { id } }" })), /PERSISTED_OPERATIONS: .*abc does not fit the schema/],
    ];
    for (const [file, message] of cases) {
      const attempt = createGateway(testConfig({ PERSISTED_OPERATIONS: file }), { db: t.db });
      await expect(attempt).rejects.toThrowError(ConfigError);
      await expect(attempt).rejects.toThrowError(message);
    }
  });

  it("ships a manifest of src/graphql/operations that is up to date (npm run persisted)", () => {
    expect(manifest, "persisted-documents.json is stale: run `npm run persisted`").toEqual(shippedOperations());
    for (const [hash, document] of Object.entries(manifest)) expect(sha256(document)).toBe(hash);
  });
});

describe("automatic persisted queries (APQ)", () => {
  const QUERY = "query AgentNames { agents { name } }";

  it("misses on an unknown hash, takes the document once, then runs the hash alone", async () => {
    const g = await gateway();
    const hash = sha256(QUERY);
    expect(codeOf(await post(g, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    const registered = await post(g, { query: QUERY, ...byHash(hash) });
    expect(registered.errors).toBeUndefined();
    const again = await post(g, byHash(hash));
    expect(again.errors).toBeUndefined();
    expect(again.data).toEqual(registered.data);
    expect(again.data.agents.length).toBeGreaterThan(0);
    // Plain documents keep working alongside.
    expect((await post(g, { query: "{ viewer { id } }" })).errors).toBeUndefined();
  });

  it("refuses a document whose hash does not match, and keeps nothing", async () => {
    const g = await gateway();
    const wrong = sha256("query Other { viewer { id } }");
    expect(codeOf(await post(g, { query: QUERY, ...byHash(wrong) }))).toEqual(["BAD_USER_INPUT"]);
    expect(codeOf(await post(g, byHash(wrong)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it("APQ=off answers a hash with PERSISTED_QUERY_NOT_SUPPORTED, so clients send documents instead", async () => {
    const g = await gateway({ APQ: "off" });
    const hash = sha256(QUERY);
    expect(codeOf(await post(g, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_SUPPORTED"]);
    expect((await post(g, { query: QUERY, ...byHash(hash) })).errors).toBeUndefined();
    expect(codeOf(await post(g, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_SUPPORTED"]);
    // Neither document nor hash: Yoga's own complaint, with the contract's code.
    expect(codeOf(await post(g, {}))).toEqual(["BAD_USER_INPUT"]);
  });

  it("is off in allow-list mode: a client cannot add documents to the list", async () => {
    const g = await gateway({ PERSISTED_OPERATIONS: MANIFEST, PERSISTED_OPERATIONS_ADHOC: "on" });
    const hash = sha256(QUERY);
    expect((await post(g, { query: QUERY, ...byHash(hash) })).errors).toBeUndefined();
    expect(codeOf(await post(g, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });
});

// APQ across instances: needs TEST_REDIS_URL; the outage case needs no Redis at all.
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) console.warn("persisted-operations.test.ts: TEST_REDIS_URL is not set; APQ sharing through Redis is skipped");

describe("automatic persisted queries across instances (REDIS_URL)", () => {
  // Redis outlives test runs: every test's document is new, so nothing is found from an earlier run.
  const freshQuery = () => `query AgentNames_${randomUUID().replaceAll("-", "")} { agents { name } }`;
  /** Two instances sharing this Redis, with `config` on both. */
  const twoInstances = (config: Record<string, string> = {}) => Promise.all([gateway({ REDIS_URL: redisUrl!, ...config }), gateway({ REDIS_URL: redisUrl!, ...config })]);
  // The test's own look into Redis.
  let redis: Redis;
  beforeAll(() => {
    if (redisUrl) redis = new Redis(redisUrl);
  });
  afterAll(() => redis?.disconnect());
  // Redis keeps rate-limit counts across test runs too: a limited caller is an agent made now.
  const freshAgentToken = async () => {
    const id = newId("agent");
    const agent = await t.db.prisma.agent.create({ data: { id, workspaceId: t.seed!.workspaceId, name: "APQ Caller", email: `${id}@example.test`, role: "AGENT" } });
    return t.tokenFor({ agentId: agent.id, workspaceId: agent.workspaceId, role: agent.role });
  };

  /** Waits until Redis holds the document (the instance stores it without waiting for Redis). */
  const sharedSoon = async (hash: string) => {
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      if (await redis.exists(apqSharedKey("inbox-gateway", hash))) return;
    }
    throw new Error(`the document ${hash} never reached Redis`);
  };

  it.skipIf(!redisUrl)("a document one instance took from an authenticated operation runs by hash alone on another, and expires a week after last use", async () => {
    const [a, b] = await twoInstances();
    const query = freshQuery();
    const hash = sha256(query);
    const expiresInAWeek = async () => {
      const ttl = await redis.ttl(apqSharedKey("inbox-gateway", hash));
      expect(ttl).toBeGreaterThan(APQ_SHARED_TTL_SECONDS - 60);
      expect(ttl).toBeLessThanOrEqual(APQ_SHARED_TTL_SECONDS);
    };
    const registered = await post(a, { query, ...byHash(hash) });
    expect(registered.errors).toBeUndefined();
    await sharedSoon(hash);
    expect(await redis.get(apqSharedKey("inbox-gateway", hash))).toBe(query);
    await expiresInAWeek();

    // Nearly expired: the other instance's fetch gives it another week.
    await redis.expire(apqSharedKey("inbox-gateway", hash), 100);
    const elsewhere = await post(b, byHash(hash));
    expect(elsewhere.errors).toBeUndefined();
    expect(elsewhere.data).toEqual(registered.data);
    await expiresInAWeek();
  });

  it.skipIf(!redisUrl)("a document sent by a caller who failed authentication, or that does not fit the schema, is not shared", async () => {
    const [a, b] = await twoInstances();
    const query = freshQuery();
    const hash = sha256(query);
    expect(codeOf(await post(a, { query, ...byHash(hash) }, null))).toEqual(["UNAUTHENTICATED"]);
    expect(codeOf(await post(a, { query, ...byHash(hash) }, "not-a-token"))).toEqual(["UNAUTHENTICATED"]);
    // Refused before its body was read: not even the instance it reached keeps it.
    expect(codeOf(await post(a, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    expect(codeOf(await post(b, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);

    const invalid = `query Invalid_${randomUUID().replaceAll("-", "")} { agents { noSuchField } }`;
    expect(codeOf(await post(a, { query: invalid, ...byHash(sha256(invalid)) }))).toEqual(["BAD_USER_INPUT"]);
    expect(codeOf(await post(b, byHash(sha256(invalid))))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it.skipIf(!redisUrl)("a document sent with an operation the rate limit refused is not shared", async () => {
    const [a, b] = await twoInstances({ RATE_LIMIT_MAX: "1", RATE_LIMIT_WINDOW_MS: "3600000" });
    const caller = await freshAgentToken();
    expect((await post(a, { query: "{ viewer { id } }" }, caller)).errors).toBeUndefined();
    const query = freshQuery();
    const hash = sha256(query);
    expect(codeOf(await post(a, { query, ...byHash(hash) }, caller))).toEqual(["RATE_LIMITED"]);
    const other = await freshAgentToken();
    expect(codeOf(await post(b, byHash(hash), other))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it.skipIf(!redisUrl)("a document registered over graphql-ws runs by hash alone over HTTP on another instance", async () => {
    const [a, b] = await twoInstances();
    const ws = wsClient(await a.listen(0, "127.0.0.1"), token);
    try {
      const query = freshQuery();
      const hash = sha256(query);
      const frames = [];
      for await (const frame of ws.iterate({ query, ...byHash(hash) })) frames.push(frame);
      expect(frames).toHaveLength(1);
      expect(frames[0]!.errors).toBeUndefined();
      await sharedSoon(hash);
      const elsewhere = await post(b, byHash(hash));
      expect(elsewhere.errors).toBeUndefined();
      expect(elsewhere.data).toEqual(frames[0]!.data);
    } finally {
      await ws.dispose();
    }
  });

  it("with Redis unreachable, each instance still takes documents and runs them by hash", async () => {
    const g = await gateway({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const query = freshQuery();
    const hash = sha256(query);
    expect(codeOf(await post(g, byHash(hash)))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    expect((await post(g, { query, ...byHash(hash) })).errors).toBeUndefined();
    expect((await post(g, byHash(hash))).errors).toBeUndefined();
  });
});
