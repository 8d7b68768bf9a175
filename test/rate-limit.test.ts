import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../src/domain/ids.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { freePort } from "./free-port.js";
import { startTestGateway, testConfig, type TestGateway } from "./helpers.js";

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

async function viewerOver(url: URL, token: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: "{ viewer { id } }" }),
  });
  const body = (await response.json()) as { data?: { viewer: { id: string } }; errors?: { extensions: { code: string } }[] };
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body };
}

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
