import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../src/domain/ids.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { freePort } from "./free-port.js";
import { startTestGateway, testConfig, type TestGateway } from "./helpers.js";
import { wsClient } from "./live.js";

// The rate limit across instances: with REDIS_URL every gateway counts against one limit per
// caller. Needs TEST_REDIS_URL for the shared case; the outage cases need no Redis at all.
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) console.warn("rate-limit.test.ts: TEST_REDIS_URL is not set; the shared-limit test is skipped");

const LIMIT = { RATE_LIMIT_MAX: "4", RATE_LIMIT_WINDOW_MS: "3600000" };
let t: TestGateway;
const gateways: Gateway[] = [];
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 2, conversations: 2 } });
});
afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await t?.close();
});

async function gatewayWith(overrides: Record<string, string>): Promise<URL> {
  const gateway = await createGateway(testConfig({ ...LIMIT, ...overrides }), { db: t.db });
  gateways.push(gateway);
  return gateway.listen(0, "127.0.0.1");
}

/** A token for an agent made for this test: Redis outlives test runs, so callers must be new. */
async function freshCaller(): Promise<string> {
  const id = newId("agent");
  const agent = await t.db.prisma.agent.create({
    data: { id, workspaceId: t.seed!.workspaceId, name: "Rate Limited", email: `${id}@example.test`, role: "AGENT" },
  });
  return t.tokenFor({ agentId: agent.id, workspaceId: agent.workspaceId, role: agent.role });
}

async function viewerOver(url: URL, token: string, query = "{ viewer { id } }") {
  return postOver(url, { authorization: `Bearer ${token}` }, query);
}

async function postOver(url: URL, headers: Record<string, string>, query: string) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { data?: { viewer: { id: string } }; errors?: { message: string; extensions: { code: string } }[] };
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body };
}

/** An API key that was never issued: its lookup finds nothing. */
const unknownKey = () => ({ "x-api-key": `igk_${randomUUID().replaceAll("-", "")}` });

const codesOf = (answer: { body: { errors?: { extensions: { code: string } }[] } }) => answer.body.errors?.map((e) => e.extensions.code);

describe("with REDIS_URL", () => {
  it.skipIf(!redisUrl)("two gateways on one Redis share each caller's limit; another caller is unaffected", async () => {
    const [a, b] = [await gatewayWith({ REDIS_URL: redisUrl! }), await gatewayWith({ REDIS_URL: redisUrl! })];
    const caller = await freshCaller();
    for (const url of [a, b, a, b]) expect((await viewerOver(url, caller)).status).toBe(200);
    for (const url of [a, b]) {
      const refused = await viewerOver(url, caller);
      expect(refused.status).toBe(429);
      expect(refused.body.errors?.[0].extensions.code).toBe("RATE_LIMITED");
      expect(Number(refused.retryAfter)).toBeGreaterThan(3500);
    }
    expect((await viewerOver(b, await freshCaller())).status).toBe(200);
  });

  it("with Redis unreachable, each gateway still serves and limits on its own", async () => {
    const url = await gatewayWith({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const caller = await freshCaller();
    for (let i = 0; i < 4; i++) expect((await viewerOver(url, caller)).body.data?.viewer.id).toMatch(/^agt_/);
    const refused = await viewerOver(url, caller);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0].extensions.code).toBe("RATE_LIMITED");
  });

  it("a gateway whose Redis never answered closes cleanly (vitest fails the run on an unhandled rejection)", async () => {
    for (let i = 0; i < 3; i++) {
      const gateway = await createGateway(testConfig({ ...LIMIT, REDIS_URL: `redis://127.0.0.1:${await freePort()}` }), { db: t.db });
      await gateway.close();
    }
    // A rejection of the queued SUBSCRIBE arrives on the socket's close, after close() returns.
    await new Promise((resolve) => setTimeout(resolve, 300));
  });
});

describe("before the document is read", () => {
  const NOT_GRAPHQL = "{ viewer { id ";

  it("over HTTP, each operation counts one, parsed or not; over the limit a document is refused unparsed", async () => {
    const url = await gatewayWith({});
    const caller = await freshCaller();
    expect(codesOf(await viewerOver(url, caller, NOT_GRAPHQL))).toEqual(["BAD_USER_INPUT"]);
    for (let i = 0; i < 3; i++) expect((await viewerOver(url, caller)).status).toBe(200);
    // A syntax error would say so: a caller over its limit is refused before its document is parsed.
    const refused = await viewerOver(url, caller, NOT_GRAPHQL);
    expect(refused.status).toBe(429);
    expect(codesOf(refused)).toEqual(["RATE_LIMITED"]);
    expect(Number(refused.retryAfter)).toBeGreaterThan(3500);
  });

  it("over graphql-ws, the same", async () => {
    const ws = wsClient(await gatewayWith({}), await freshCaller());
    // graphql-ws sends a refused document as an error message, which the client throws.
    const outcome = async (query: string) => {
      try {
        for await (const frame of ws.iterate({ query })) return frame;
      } catch (errors) {
        return { errors: errors as { message: string; extensions?: Record<string, unknown> }[] };
      }
    };
    try {
      expect((await outcome(NOT_GRAPHQL))?.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
      for (let i = 0; i < 3; i++) expect((await outcome("{ viewer { id } }"))?.errors).toBeUndefined();
      const refused = await outcome(NOT_GRAPHQL);
      expect(refused?.errors?.map((e) => e.extensions)).toEqual([{ code: "RATE_LIMITED", retryAfter: expect.any(Number) }]);
    } finally {
      await ws.dispose();
    }
  });

  it("failed authentications count against the address; beyond the limit they are RATE_LIMITED, while good credentials from it are still served", async () => {
    const url = await gatewayWith({});
    for (let i = 0; i < 4; i++) expect(codesOf(await postOver(url, unknownKey(), "{ viewer { id } }"))).toEqual(["UNAUTHENTICATED"]);
    const refused = await postOver(url, unknownKey(), "{ viewer { id } }");
    expect(refused.status).toBe(429);
    expect(codesOf(refused)).toEqual(["RATE_LIMITED"]);
    expect(refused.body.errors?.[0]?.message).toMatch(/failed authentications/);
    expect(Number(refused.retryAfter)).toBeGreaterThan(3500);
    // Behind a proxy or a NAT the address is shared: one caller guessing keys locks no one else out.
    expect((await viewerOver(url, await freshCaller())).status).toBe(200);
  });

  it("successful authentications do not count against the address", async () => {
    const url = await gatewayWith({});
    for (let i = 0; i < 3; i++) expect(codesOf(await postOver(url, unknownKey(), "{ viewer { id } }"))).toEqual(["UNAUTHENTICATED"]);
    for (let i = 0; i < 4; i++) expect((await viewerOver(url, await freshCaller())).status).toBe(200);
    expect(codesOf(await postOver(url, unknownKey(), "{ viewer { id } }"))).toEqual(["UNAUTHENTICATED"]);
    expect((await postOver(url, unknownKey(), "{ viewer { id } }")).status).toBe(429);
  });

  it("over graphql-ws, a connection with bad credentials counts too: beyond the limit it is closed with 4429", async () => {
    const url = await gatewayWith({});
    const closeCodes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ws = wsClient(url, unknownKey()["x-api-key"], { onClosed: (event) => closeCodes.push((event as { code: number }).code) });
      await (async () => {
        for await (const _ of ws.iterate({ query: "{ viewer { id } }" }));
      })().catch(() => undefined);
      await ws.dispose();
    }
    expect(closeCodes).toEqual([4401, 4401, 4401, 4401, 4429]);
  });

  it.skipIf(!redisUrl)("with REDIS_URL, failed authentications from one address count on every instance", async () => {
    const shared = { REDIS_URL: redisUrl!, REDIS_PREFIX: `rate-limit-test-${randomUUID()}` };
    const [a, b] = [await gatewayWith(shared), await gatewayWith(shared)];
    for (const url of [a, b, a, b]) expect(codesOf(await postOver(url, unknownKey(), "{ viewer { id } }"))).toEqual(["UNAUTHENTICATED"]);
    for (const url of [a, b]) expect((await postOver(url, unknownKey(), "{ viewer { id } }")).status).toBe(429);
  });
});
