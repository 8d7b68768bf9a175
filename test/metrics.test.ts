import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../src/gateway.js";
import { shippedOperations } from "../src/graphql/operations.js";
import { OperationNames } from "../src/plugins/metrics.js";
import { signAgentToken } from "../src/auth/tokens.js";
import { startTestGateway, TEST_JWT_SECRET, testConfig, type TestGateway } from "./helpers.js";
import { overSse, until, wsClient } from "./live.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t?.close());

async function scrape(fetcher: (path: string) => Promise<Response>): Promise<string> {
  const response = await fetcher("/metrics");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  return response.text();
}
const scrapeMain = () => scrape((path) => t.gateway.fetch(path));
// The gateway listens once, for the tests that need a real socket.
let url: Promise<URL> | undefined;
const listening = () => (url ??= t.gateway.listen(0, "127.0.0.1"));

/** The value of one series in a Prometheus text exposition; 0 when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const given = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => given[k] === v)) return Number(match[3]);
  }
  return 0;
}
const labelValues = (text: string, name: string, label: string) =>
  new Set([...text.matchAll(new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"`, "gm"))].map((m) => m[1]));

const INBOX = { operationName: "InboxPage", operationType: "query" };

describe("GET /metrics", () => {
  it("counts a query and an error, times them, and times the SQL they ran", async () => {
    const before = await scrapeMain();
    const ok = await t.gql(`query InboxPage { conversations(first: 3) { edges { node { id contact { fullName } } } } }`);
    expect(ok.errors).toBeUndefined();
    const failed = await t.gql(`mutation MarkGone { markConversationRead(id: "conv_doesnotexist0000") { id } }`);
    expect(failed.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const after = await scrapeMain();

    expect(sample(after, "graphql_requests_total", INBOX) - sample(before, "graphql_requests_total", INBOX)).toBe(1);
    expect(sample(after, "graphql_request_duration_seconds_count", INBOX) - sample(before, "graphql_request_duration_seconds_count", INBOX)).toBe(1);
    const notFound = { code: "NOT_FOUND", operationName: "MarkGone", operationType: "mutation" };
    expect(sample(after, "graphql_errors_total", notFound) - sample(before, "graphql_errors_total", notFound)).toBe(1);
    expect(sample(after, "db_statement_duration_seconds_count", { statement: "select" })).toBeGreaterThan(
      sample(before, "db_statement_duration_seconds_count", { statement: "select" }),
    );
    expect(sample(after, "db_statement_duration_seconds_sum", { statement: "select" })).toBeGreaterThan(0);
  });

  it("counts the codes of errors raised before any document is read, and of bad documents", async () => {
    const before = await scrapeMain();
    expect((await t.gql(`{ viewer { id } }`, undefined, { token: null })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await t.gql(`query Typo { conversationz { id } }`)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const after = await scrapeMain();
    const diff = (labels: Record<string, string>) => sample(after, "graphql_errors_total", labels) - sample(before, "graphql_errors_total", labels);
    expect(diff({ code: "UNAUTHENTICATED", operationName: "unknown" })).toBe(1);
    expect(diff({ code: "BAD_USER_INPUT", operationName: "Typo", operationType: "query" })).toBe(1);
  });

  it("counts errors sent over graphql-ws too: refused documents, failed operations and refused connections", async () => {
    const client = wsClient(await listening(), await t.token());
    const frames = async (query: string) => {
      const seen: { errors?: readonly unknown[] }[] = [];
      try {
        for await (const frame of client.iterate({ query })) seen.push(frame);
      } catch (errors) {
        seen.push({ errors: errors as unknown[] });
      }
      return seen;
    };
    try {
      const before = await scrapeMain();
      expect((await frames(`query WsTypo { conversationz { id } }`))[0]?.errors).toHaveLength(1);
      expect((await frames(`mutation WsMarkGone { markConversationRead(id: "conv_doesnotexist0000") { id } }`))[0]?.errors).toHaveLength(1);
      const after = await scrapeMain();
      const diff = (labels: Record<string, string>) => sample(after, "graphql_errors_total", labels) - sample(before, "graphql_errors_total", labels);
      expect(diff({ code: "BAD_USER_INPUT", operationName: "WsTypo", operationType: "query" })).toBe(1);
      expect(diff({ code: "NOT_FOUND", operationName: "WsMarkGone", operationType: "mutation" })).toBe(1);

      // A socket refused at connection_init (4401) counts too, under no operation.
      const refused = wsClient(await listening(), "not-a-token");
      await expect(refused.iterate({ query: "{ viewer { id } }" }).next()).rejects.toBeDefined();
      await refused.dispose();
      const unauthenticated = { code: "UNAUTHENTICATED", operationName: "unknown", operationType: "unknown" };
      expect(sample(await scrapeMain(), "graphql_errors_total", unauthenticated) - sample(after, "graphql_errors_total", unauthenticated)).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it("counts the error that ends a graphql-ws stream: a token that expires while subscribed", async () => {
    const admin = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, role: "ADMIN", active: true } });
    const shortLived = signAgentToken(TEST_JWT_SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: "ADMIN" }, { expiresIn: 2 });
    const client = wsClient(await listening(), shortLived);
    const labels = { code: "UNAUTHENTICATED", operationName: "WsExpiring", operationType: "subscription" };
    try {
      const before = await scrapeMain();
      const frames = client.iterate({ query: `subscription WsExpiring { unreadTotals { unreadMessages } }` });
      await frames.next();
      await expect(frames.next()).rejects.toBeDefined();
      expect(sample(await scrapeMain(), "graphql_errors_total", labels) - sample(before, "graphql_errors_total", labels)).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it("counts errors inside the events of an SSE stream, as each is sent", async () => {
    const conversation = await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId } });
    // A contact whose metadata is not an object: JSONObject refuses to send it, so the event carries an error.
    await t.db.prisma.$executeRaw`UPDATE "Contact" SET "metadata" = '[1, 2]'::jsonb WHERE "id" = ${conversation.contactId}`;
    const feed = overSse(await listening(), await t.token(), `subscription SseBroken($id: ID!) { unreadCountChanged(conversationId: $id) { unreadCount conversation { contact { metadata } } } }`, { id: conversation.id });
    try {
      await until(() => t.gateway.feeds.stats().subscribers > 0, "the SSE subscription to start");
      const before = await scrapeMain();
      const received = await t.gql(`mutation($input: ReceiveMessageInput!) { receiveMessage(input: $input) { id } }`, {
        input: { conversationId: conversation.id, body: "metadata check", externalId: `sse-metrics-${Date.now()}` },
      });
      expect(received.errors).toBeUndefined();
      const event = await feed.iterator.next();
      expect((event.value?.errors as { extensions?: { code?: string } }[] | undefined)?.map((e) => e.extensions?.code)).toEqual(["INTERNAL_SERVER_ERROR"]);
      const after = await scrapeMain();
      const labels = { code: "INTERNAL_SERVER_ERROR", operationName: "SseBroken", operationType: "subscription" };
      expect(sample(after, "graphql_errors_total", labels) - sample(before, "graphql_errors_total", labels)).toBe(1);
    } finally {
      feed.dispose();
      await t.db.prisma.$executeRaw`UPDATE "Contact" SET "metadata" = '{}'::jsonb WHERE "id" = ${conversation.contactId}`;
    }
  });

  it("counts a subscription in graphql_requests_total when it ends, and an unknown hash as unknown", async () => {
    const labels = { operationName: "UnreadTotals", operationType: "subscription" };
    const before = await scrapeMain();
    const feed = overSse(await listening(), await t.token(), `subscription UnreadTotals { unreadTotals { unreadMessages } }`);
    await feed.next();
    // Open: not counted yet.
    expect(sample(await scrapeMain(), "graphql_requests_total", labels)).toBe(sample(before, "graphql_requests_total", labels));
    feed.dispose();
    await until(() => t.gateway.feeds.stats().subscribers === 0, "the subscription to end");
    let after = await scrapeMain();
    // Counted when the stream's end reaches the plugin, shortly after the client goes.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && sample(after, "graphql_requests_total", labels) === sample(before, "graphql_requests_total", labels); ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await scrapeMain();
    }
    expect(sample(after, "graphql_requests_total", labels) - sample(before, "graphql_requests_total", labels)).toBe(1);

    const unknownHash = await t.gateway.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await t.token()}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }),
    });
    expect(((await unknownHash.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    const notFound = { code: "PERSISTED_QUERY_NOT_FOUND", operationName: "unknown" };
    expect(sample(await scrapeMain(), "graphql_errors_total", notFound) - sample(after, "graphql_errors_total", notFound)).toBe(1);
  });

  it("shows open subscriptions by transport and the process metrics", async () => {
    const text = await scrapeMain();
    expect(text).toMatch(/^graphql_subscriptions_open\{transport="sse"\} \d+$/m);
    expect(text).toMatch(/^graphql_subscriptions_open\{transport="websocket"\} \d+$/m);
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });

  it("a subscription POSTed for plain JSON is 406 saying how to stream it, and is not left counted as open", async () => {
    const open = async () => sample(await scrapeMain(), "graphql_subscriptions_open", { transport: "sse" });
    const before = await open();
    const response = await t.gateway.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${await t.token()}` },
      body: JSON.stringify({ query: "subscription { unreadTotals { unreadMessages } }" }),
    });
    expect(response.status).toBe(406);
    expect(await response.json()).toEqual({
      errors: [
        {
          message: "A subscription streams its events: send it with Accept: text/event-stream, or over graphql-ws.",
          extensions: { code: "BAD_USER_INPUT" },
        },
      ],
    });
    await until(async () => (await open()) === before, "the refused subscription to be counted closed");
  });

  it("keeps operation names from exploding the label set: anonymous ones share a label, the rest fold into other past the cap", async () => {
    await t.gql(`{ viewer { id } }`);
    await t.gql(`query { viewer { id } }`);
    for (let i = 0; i < 110; i++) expect((await t.gql(`query Generated${i} { viewer { id } }`)).errors).toBeUndefined();
    const text = await scrapeMain();
    expect(sample(text, "graphql_requests_total", { operationName: "anonymous", operationType: "query" })).toBeGreaterThanOrEqual(2);
    expect(sample(text, "graphql_requests_total", { operationName: "other", operationType: "query" })).toBeGreaterThanOrEqual(10);
    const names = labelValues(text, "graphql_requests_total", "operationName");
    // 100 distinct names at most, plus the shipped operations and the shared labels.
    expect(names.size).toBeLessThanOrEqual(100 + Object.keys(shippedOperations()).length + 3);
    expect(names).toContain("Generated0");
  });

  it("belongs to one gateway: a second gateway in the same process counts on its own", async () => {
    const other = await createGateway(testConfig(), { db: t.db });
    try {
      const own = sample(await scrape((p) => other.fetch(p)), "graphql_requests_total", INBOX);
      await t.gql(`query InboxPage { conversations(first: 1) { totalCount } }`);
      expect(sample(await scrape((p) => other.fetch(p)), "graphql_requests_total", INBOX)).toBe(own);
      expect(other.metrics).not.toBe(t.gateway.metrics);
    } finally {
      await other.close();
    }
  });
});

describe("metrics configuration", () => {
  it("METRICS=off serves no /metrics", async () => {
    const off = await createGateway(testConfig({ METRICS: "off" }), { db: t.db });
    try {
      expect((await off.fetch("/metrics")).status).toBe(404);
      expect(off.metrics).toBeNull();
    } finally {
      await off.close();
    }
  });

  it("METRICS_PORT moves /metrics to its own port, off the main one", async () => {
    const moved = await createGateway(testConfig({ METRICS_PORT: "0" }), { db: t.db });
    try {
      const url = await moved.listen(0, "127.0.0.1");
      expect((await fetch(new URL("/metrics", url))).status).toBe(404);
      expect(moved.metricsUrl).not.toBeNull();
      expect(moved.metricsUrl!.port).not.toBe(url.port);
      const text = await scrape(() => fetch(moved.metricsUrl!));
      expect(text).toContain("# TYPE graphql_requests_total counter");
      expect((await fetch(new URL("/graphql", moved.metricsUrl!))).status).toBe(404);
    } finally {
      await moved.close();
    }
  });

  it("rejects a bad METRICS value and names it", () => {
    expect(() => testConfig({ METRICS: "yes" })).toThrowError(/METRICS/);
  });
});

describe("operation name labels", () => {
  it("keep known names, share anonymous, and fold unknown names into other in strict mode or past the cap", () => {
    const open = new OperationNames(new Set(["InboxPage"]), false, 2);
    expect([open.label(undefined), open.label("InboxPage"), open.label("A"), open.label("B"), open.label("C"), open.label("A")]).toEqual([
      "anonymous",
      "InboxPage",
      "A",
      "B",
      "other",
      "A",
    ]);
    const strict = new OperationNames(new Set(["InboxPage"]), true);
    expect([strict.label("InboxPage"), strict.label("Adhoc")]).toEqual(["InboxPage", "other"]);
  });
});
