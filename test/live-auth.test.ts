import jwt from "jsonwebtoken";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./helpers.js";
import { overSse, overWs, subscribersOf, unreadTotalsOf, until } from "./live.js";

// The same credentials check for the live transports: graphql-ws (connectionParams) and SSE
// (headers), with tokens and API keys, good and bad.
let t: TestGateway;
let url: URL;
let claims: { sub: string; workspaceId: string; role: string };

beforeAll(async () => {
  // An agent's standing is read on every request and delivery here, so a deactivation shows at once.
  t = await startTestGateway({ seed: { contacts: 4, conversations: 6 }, config: { AGENT_RECHECK_MS: "0" } });
  url = await t.gateway.listen(0, "127.0.0.1");
  const admin = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, role: "ADMIN" }, orderBy: { createdAt: "asc" } });
  claims = { sub: admin.id, workspaceId: admin.workspaceId, role: admin.role };
});
afterEach(() => until(() => subscribersOf(t.gateway) === 0, "every subscription to be released"));
afterAll(() => t?.close());

const TOTALS = `subscription { unreadTotals { unreadConversations unreadMessages } }`;
type Totals = { unreadTotals: { unreadConversations: number; unreadMessages: number } };

const sign = (payload: object, options: jwt.SignOptions) => jwt.sign(payload, TEST_JWT_SECRET, { algorithm: "HS256", ...options });

function badTokens(): Record<string, string> {
  const { sub: subject, ...other } = claims;
  return {
    expired: sign(other, { subject, expiresIn: -60 }),
    "not yet valid": sign(other, { subject, expiresIn: "1h", notBefore: "30m" }),
    "wrong signature": jwt.sign(other, "another-secret-another-secret-another-secret", { algorithm: "HS256", subject }),
    "alg none": jwt.sign(other, null, { algorithm: "none", subject }),
  };
}

async function createKey(role = "AGENT") {
  const res = await t.gql<any>(`mutation($r: AgentRole) { createApiKey(name: "live", role: $r) { secret apiKey { id } } }`, { r: role });
  return { secret: res.data!.createApiKey.secret as string, id: res.data!.createApiKey.apiKey.id as string };
}

/** A graphql-ws client with these connectionParams; `closed` is the close event, if any. */
function socket(connectionParams: Record<string, string>) {
  const state: { closed?: { code: number; reason: string } } = {};
  const client = createWsClient({
    url: url.toString().replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => (state.closed = event as { code: number; reason: string }) },
  });
  return { client, state };
}

describe("WebSocket (graphql-ws) credentials", () => {
  it("accepts an API key in connectionParams, as x-api-key or as a bearer credential", async () => {
    const { secret } = await createKey();
    for (const params of [{ "x-api-key": secret }, { Authorization: `Bearer ${secret}` }] as Record<string, string>[]) {
      const { client } = socket(params);
      const feed = overWs<Totals>(client, TOTALS);
      expect((await feed.next()).unreadTotals).toEqual(await unreadTotalsOf(url, secret));
      await feed.close();
      await client.dispose();
    }
  });

  it("closes with 4401 UNAUTHENTICATED for expired, not-yet-valid, wrongly signed and unsigned tokens, and unknown keys", async () => {
    const cases = { ...badTokens(), "unknown key": "igk_unknown" };
    for (const [what, credential] of Object.entries(cases)) {
      const { client, state } = socket({ Authorization: `Bearer ${credential}` });
      await expect(overWs(client, TOTALS).next(), what).rejects.toBeDefined();
      expect(state.closed, what).toMatchObject({ code: 4401 });
      expect(state.closed!.reason, what).toMatch(/^UNAUTHENTICATED/);
      await client.dispose();
    }
  });

  it("a failure of ours while checking an operation's credentials is INTERNAL_SERVER_ERROR, not the client's UNAUTHENTICATED", async () => {
    const { secret } = await createKey();
    const { client } = socket({ "x-api-key": secret });
    // The first subscription keeps the (lazy) socket open.
    const first = overWs<Totals>(client, TOTALS);
    await first.next();
    // The key lookup fails for the next operation on the same socket, as when the database is down.
    await t.db.prisma.$executeRawUnsafe(`ALTER TABLE "ApiKey" RENAME TO "ApiKeyAway"`);
    try {
      const refusal = await overWs(client, TOTALS).next().then(
        (data) => ({ accepted: data }),
        (errors: unknown) => errors,
      );
      expect(refusal).toEqual([{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
    } finally {
      await t.db.prisma.$executeRawUnsafe(`ALTER TABLE "ApiKeyAway" RENAME TO "ApiKey"`);
      await first.close();
      await client.dispose();
    }
  });

  it("a key revoked while its socket is open: the next operation on that socket is refused", async () => {
    const { secret, id } = await createKey();
    const { client, state } = socket({ "x-api-key": secret });
    // The first subscription stays open, so the socket does too (the client is lazy).
    const first = overWs<Totals>(client, TOTALS);
    await first.next();
    expect((await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id })).errors).toBeUndefined();
    // graphql-ws rejects an operation refused at subscribe time with its GraphQL errors.
    const refusal = await overWs(client, TOTALS).next().then(
      (data) => ({ accepted: data }),
      (errors: unknown) => errors,
    );
    expect(refusal).toEqual([expect.objectContaining({ message: "The API key has been revoked.", extensions: { code: "UNAUTHENTICATED" } })]);
    expect(state.closed).toBeUndefined();
    await first.close();
    await client.dispose();
  });
});

describe("open subscriptions end when their credentials lapse", () => {
  const UNREAD = `subscription { unreadCountChanged { unreadCount conversation { lastMessagePreview } } }`;
  let conversationId: string | undefined;
  beforeAll(async () => {
    ({ id: conversationId } = await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId } }));
  });
  const receive = (body: string) =>
    t.gql(`mutation($i: ReceiveMessageInput!) { receiveMessage(input: $i) { id } }`, {
      i: { conversationId: conversationId!, body, externalId: `lapse-${body}` },
    });
  /** What a feed gives next: data, or the errors it ended with. */
  const outcome = (next: Promise<unknown>) =>
    next.then(
      (data) => ({ data }),
      (error: unknown) => ({ error: String(error instanceof Error ? error.message : JSON.stringify(error)) }),
    );

  it("at the token's expiry, over SSE and graphql-ws alike, with UNAUTHENTICATED", async () => {
    const { sub: subject, ...other } = claims;
    const shortLived = sign(other, { subject, expiresIn: 2 });
    const { client } = socket({ Authorization: `Bearer ${shortLived}` });
    const feeds = [overSse<Totals>(url, shortLived, TOTALS), overWs<Totals>(client, TOTALS)];
    const totals = await unreadTotalsOf(url, await t.token());
    for (const feed of feeds) expect((await feed.next()).unreadTotals).toEqual(totals);
    const started = Date.now();
    for (const feed of feeds) {
      const { error } = (await outcome(feed.next())) as { error: string };
      expect(error).toContain("Your token has expired: subscribe again with a fresh one.");
      expect(error).toContain('"code":"UNAUTHENTICATED"');
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    await until(() => subscribersOf(t.gateway) === 0, "the expired subscriptions to be released");
    await client.dispose();
  });

  /**
   * Subscribes over SSE and graphql-ws with `credential` (graphql-sse sends it as a bearer
   * credential, graphql-ws in connectionParams), lapses it, and expects both streams to end with
   * `message` before the next message reaches them.
   */
  async function expectEndedAfter(credential: { token: string; params: Record<string, string> }, lapse: () => Promise<unknown>, message: string) {
    const { client } = socket(credential.params);
    const feeds = [overSse<any>(url, credential.token, UNREAD), overWs<any>(client, UNREAD)];
    try {
      await until(() => subscribersOf(t.gateway) === 2, "the subscriptions");
      await receive(`before: ${message}`);
      for (const feed of feeds) expect((await feed.next()).unreadCountChanged.conversation.lastMessagePreview).toBe(`before: ${message}`);
      await lapse();
      await receive(`after: ${message}`);
      for (const feed of feeds) {
        const { error } = (await outcome(feed.next())) as { error: string };
        expect(error).toContain(message);
        expect(error).toContain('"code":"UNAUTHENTICATED"');
        expect(error).not.toContain("after:");
      }
    } finally {
      await client.dispose();
    }
  }

  it("once an API key is revoked, before its next delivery: no message of it reaches the stream", async () => {
    const { secret, id } = await createKey();
    const revoke = async () => expect((await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id })).errors).toBeUndefined();
    await expectEndedAfter({ token: secret, params: { "x-api-key": secret } }, revoke, "The API key has been revoked.");
  });

  it("once an agent is deactivated, before its next delivery", async () => {
    const row = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, role: "AGENT", active: true } });
    const token = t.tokenFor({ agentId: row.id, workspaceId: row.workspaceId, role: row.role });
    const setActive = (active: boolean) => t.db.prisma.agent.update({ where: { id: row.id }, data: { active } });
    try {
      await expectEndedAfter({ token, params: { Authorization: `Bearer ${token}` } }, () => setActive(false), "This agent has been deactivated.");
    } finally {
      await setActive(true);
    }
  });
});

describe("SSE credentials", () => {
  it("accepts an API key header and refuses bad tokens and revoked keys with 401 UNAUTHENTICATED", async () => {
    const { secret, id } = await createKey("VIEWER");
    const ok = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "x-api-key": secret },
      body: JSON.stringify({ query: TOTALS }),
    });
    expect(ok.status).toBe(200);
    await ok.body!.cancel();
    await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id });
    const refusals = { ...badTokens(), revoked: secret };
    for (const [what, credential] of Object.entries(refusals)) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${credential}` },
        body: JSON.stringify({ query: TOTALS }),
      });
      expect(res.status, what).toBe(401);
      expect(await res.text(), what).toContain("UNAUTHENTICATED");
    }
  });
});
