import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conversation } from "../src/generated/prisma/client.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { dataOf, onPostgres, startTestGateway, testConfig, type GraphQLResponse, type TestGateway } from "./helpers.js";

// Many requests at once through the whole gateway; the database (row locks, atomic UPDATEs,
// ON CONFLICT) must keep every figure exact however they interleave.
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 10, conversations: 30 } });
});
afterAll(() => t?.close());

const taken = new Set<string>();
async function freshConversation(data: Partial<Pick<Conversation, "labels">> = {}): Promise<Conversation> {
  const rows = await t.db.prisma.conversation.findMany({ where: { workspaceId: t.seed!.workspaceId }, orderBy: { id: "asc" } });
  const row = rows.find((r) => !taken.has(r.id))!;
  taken.add(row.id);
  return Object.keys(data).length ? t.db.prisma.conversation.update({ where: { id: row.id }, data }) : row;
}
const row = (id: string) => t.db.prisma.conversation.findUniqueOrThrow({ where: { id } });
// Seeded conversations have no LABELS_CHANGED activity: labels are set when they are created.
const labelActivities = (conversationId: string) =>
  t.db.prisma.conversationActivity.count({ where: { conversationId, type: "LABELS_CHANGED" } });

const ADD = `mutation($id: ID!, $labels: [String!]!) { addConversationLabels(id: $id, labels: $labels) { id labels } }`;
const REMOVE = `mutation($id: ID!, $labels: [String!]!) { removeConversationLabels(id: $id, labels: $labels) { id labels } }`;
const RECEIVE = `mutation($input: ReceiveMessageInput!) { receiveMessage(input: $input) { id } }`;

describe("labels under concurrency", () => {
  it("20 concurrent adds of different labels keep all 20, one activity each", async () => {
    const conv = await freshConversation({ labels: [] });
    const labels = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const results = await Promise.all(labels.map((label) => t.gql(ADD, { id: conv.id, labels: [label] })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect([...(await row(conv.id)).labels].sort()).toEqual([...labels].sort());
    expect(await labelActivities(conv.id)).toBe(20);
  });

  it("the 21st label is BAD_USER_INPUT even when it arrives with the others", async () => {
    const conv = await freshConversation({ labels: [] });
    const labels = Array.from({ length: 21 }, (_, i) => `d${i}`);
    const results = await Promise.all(labels.map((label) => t.gql(ADD, { id: conv.id, labels: [label] })));
    const errors = results.flatMap((r) => r.errors ?? []);
    expect(errors).toHaveLength(1);
    expect(errors[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels" });
    const after = await row(conv.id);
    expect(after.labels).toHaveLength(20);
    expect(after.labels.every((l) => labels.includes(l))).toBe(true);
    expect(await labelActivities(conv.id)).toBe(20);
  });

  it("concurrent adds and removes of different labels never lose or resurrect one", async () => {
    for (let round = 0; round < 3; round++) {
      const initial = Array.from({ length: 10 }, (_, i) => `old${i}`);
      const conv = await freshConversation({ labels: initial });
      const toRemove = initial.slice(0, 5);
      const toAdd = Array.from({ length: 5 }, (_, i) => `new${i}`);
      // Interleave removals and additions, each its own request.
      const calls = toRemove.flatMap((label, i) => [
        t.gql(REMOVE, { id: conv.id, labels: [label] }),
        t.gql(ADD, { id: conv.id, labels: [toAdd[i]] }),
      ]);
      const results = await Promise.all(calls);
      expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
      expect([...(await row(conv.id)).labels].sort()).toEqual([...initial.slice(5), ...toAdd].sort());
      expect(await labelActivities(conv.id)).toBe(10);
    }
  });
});

describe("message intake under concurrency", () => {
  it("the same delivery sent 10 times at once yields one message and unreadCount +1", async () => {
    const conv = await freshConversation();
    const received = () => t.db.prisma.conversationActivity.count({ where: { conversationId: conv.id, type: "MESSAGE_RECEIVED" } });
    const activityBefore = await received();
    const input = { conversationId: conv.id, body: "are you there?", externalId: `dup-${conv.id}` };
    const results = await Promise.all(Array.from({ length: 10 }, () => t.gql(RECEIVE, { input })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(results.map((r) => r.data.receiveMessage.id)).size).toBe(1);
    expect(await t.db.prisma.message.count({ where: { externalId: input.externalId } })).toBe(1);
    const after = await row(conv.id);
    expect(after.unreadCount).toBe(conv.unreadCount + 1);
    expect(after.messageCount).toBe(conv.messageCount + 1);
    expect(await received()).toBe(activityBefore + 1);
  });

  it("200 concurrent deliveries to one conversation move unreadCount and messageCount by exactly 200", async () => {
    const conv = await freshConversation();
    const start = Date.now();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        t.gql(RECEIVE, {
          input: { conversationId: conv.id, body: `message ${i}`, externalId: `burst-${conv.id}-${i}`, sentAt: new Date(start + i).toISOString() },
        }),
      ),
    );
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    const after = await row(conv.id);
    expect(after.unreadCount).toBe(conv.unreadCount + 200);
    expect(after.messageCount).toBe(conv.messageCount + 200);
    expect(await t.db.prisma.message.count({ where: { conversationId: conv.id } })).toBe(after.messageCount);
    // The newest message wins the preview, whatever order the deliveries committed in.
    expect(after.lastMessagePreview).toBe("message 199");
  }, 120_000);

  it("concurrent deliveries stamped with the same second: the preview is the message that lists first, whatever order they commit in", async () => {
    const sentAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000).toISOString();
    for (let round = 0; round < 10; round++) {
      const conv = await freshConversation();
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => t.gql(RECEIVE, { input: { conversationId: conv.id, body: `tie ${round}.${i}`, externalId: `tie-${conv.id}-${i}`, sentAt } })),
      );
      expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
      const { data } = await t.gql<{ conversation: { lastMessagePreview: string; messages: { edges: { node: { body: string } }[] } } }>(
        `query($id: ID!) { conversation(id: $id) { lastMessagePreview messages(first: 1) { edges { node { body } } } } }`,
        { id: conv.id },
      );
      expect(data!.conversation.lastMessagePreview).toBe(data!.conversation.messages.edges[0].node.body);
    }
  });
});

describe("optimistic concurrency", () => {
  it("of several edits made from the same updatedAt, exactly one wins; the rest are CONFLICT", async () => {
    const conv = await freshConversation();
    const statusChanges = () => t.db.prisma.conversationActivity.count({ where: { conversationId: conv.id, type: "STATUS_CHANGED" } });
    const changesBefore = await statusChanges();
    const statuses = ["OPEN", "CLOSED", "ARCHIVED"].filter((s) => s !== conv.status);
    const results = await Promise.all(
      [...statuses, ...statuses].map((status) =>
        t.gql(`mutation($id: ID!, $s: ConversationStatus!, $e: DateTime) { updateConversationStatus(id: $id, status: $s, expectedUpdatedAt: $e) { status } }`, {
          id: conv.id,
          s: status,
          e: conv.updatedAt.toISOString(),
        }),
      ),
    );
    const ok = results.filter((r) => !r.errors);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0].extensions?.code === "CONFLICT")).toHaveLength(results.length - 1);
    expect((await row(conv.id)).status).toBe(ok[0].data.updateConversationStatus.status);
    expect(await statusChanges()).toBe(changesBefore + 1);
  });
});

/** The URL of this file's PostgreSQL database, for a gateway that opens its own pool on it. */
async function testDatabaseUrl(): Promise<URL> {
  const [{ name }] = await t.db.prisma.$queryRaw<{ name: string }[]>`SELECT current_database()::text AS name`;
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url;
}

describe.runIf(onPostgres)("connection pool", () => {
  // Each instance is told its size by DATABASE_POOL_SIZE: the server's connection limit is shared
  // by every instance, so it must be a bound, not a hint.
  async function peakConnections(poolSize: number): Promise<number> {
    const url = await testDatabaseUrl();
    const applicationName = `pool_probe_${poolSize}`;
    url.searchParams.set("application_name", applicationName);
    const gateway = await createGateway(testConfig({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: String(poolSize) }));
    try {
      const token = await t.token();
      const page = JSON.stringify({ query: "{ conversations(first: 50) { totalCount edges { node { id contact { fullName } } } } }" });
      const responses = await Promise.all(
        Array.from({ length: 40 }, () =>
          gateway.fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: page }),
        ),
      );
      const results = (await Promise.all(responses.map((r) => r.json()))) as { errors?: unknown }[];
      expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
      // The pool keeps its connections open while idle (10 s), so they can be counted after the burst.
      const [{ open }] = await t.db.prisma.$queryRaw<{ open: number }[]>`
        SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${applicationName}`;
      return open;
    } finally {
      await gateway.close();
    }
  }

  it("DATABASE_POOL_SIZE bounds the connections an instance opens, however many requests are in flight", async () => {
    expect(await peakConnections(2)).toBe(2);
    // The same burst opens more when the pool allows it: the count above is the bound at work.
    expect(await peakConnections(8)).toBeGreaterThan(2);
  });
});

describe.runIf(onPostgres)("statement timeout", () => {
  const STATUS = `mutation($id: ID!) { updateConversationStatus(id: $id, status: ARCHIVED) { id status } }`;
  /** A gateway on the test database whose statements stop after 300 ms. */
  const timingOut = async () => createGateway(testConfig({ DATABASE_URL: (await testDatabaseUrl()).toString(), DATABASE_STATEMENT_TIMEOUT_MS: "300" }));
  /** An operation sent to `gateway` as the test gateway's agent. */
  const sendTo = async <T>(gateway: Gateway, query: string, variables: Record<string, unknown>) => {
    const response = await gateway.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await t.token()}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, "status">) };
  };
  const fresh = async () => t.db.prisma.conversation.update({ where: { id: (await freshConversation()).id }, data: { status: "OPEN" } });
  /** Runs `fn` while another session holds the conversation's row, so a write to it waits past the timeout. */
  const holding = <T>(id: string, fn: () => Promise<T>) =>
    t.db.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM "Conversation" WHERE id = ${id} FOR UPDATE`;
        return fn();
      },
      { timeout: 10_000 },
    );

  it("DATABASE_STATEMENT_TIMEOUT_MS stops a statement that runs past it: INTERNAL_SERVER_ERROR saying so, nothing written, the pool still serves", async () => {
    const gateway = await timingOut();
    const conv = await fresh();
    const send = () => sendTo<{ updateConversationStatus: { status: string } | null }>(gateway, STATUS, { id: conv.id });
    try {
      const held = await holding(conv.id, send);
      expect(held.data?.updateConversationStatus).toBeNull();
      expect(held.errors?.map((e) => e.extensions?.code)).toEqual(["INTERNAL_SERVER_ERROR"]);
      expect(held.errors?.[0].message).toMatch(/took too long and stopped; nothing this field was changing was kept/);
      expect((await row(conv.id)).status).toBe(conv.status);
      // The timeout is a statement's, not the connection's end: the same write now goes through.
      expect((await send()).data?.updateConversationStatus?.status).toBe("ARCHIVED");
      // Sessions (migrations and their lock) are not bound by it, and leave the pool's setting as it was.
      await gateway.db.withSession((session) => session.query("SELECT pg_sleep(0.5)"));
      const settings = await Promise.all([1, 2, 3].map(() => gateway.db.prisma.$queryRaw<{ statement_timeout: string }[]>`SHOW statement_timeout`));
      expect(settings.map(([setting]) => setting!.statement_timeout)).toEqual(["300ms", "300ms", "300ms"]);
    } finally {
      await gateway.close();
    }
  });

  it("in a bulk update, the conversation whose statement timed out says so; the others are updated", async () => {
    const gateway = await timingOut();
    const held = await fresh();
    const free = await fresh();
    const BULK = `mutation($ids: [ID!]!) { bulkUpdateConversations(ids: $ids, status: ARCHIVED) { updated { id status } errors { id code message } } }`;
    type Bulk = { bulkUpdateConversations: { updated: { id: string; status: string }[]; errors: { id: string; code: string; message: string }[] } };
    try {
      const result = await holding(held.id, () => sendTo<Bulk>(gateway, BULK, { ids: [held.id, free.id] }));
      const { updated, errors } = dataOf(result).bulkUpdateConversations;
      expect(updated).toEqual([{ id: free.id, status: "ARCHIVED" }]);
      expect(errors).toEqual([{ id: held.id, code: "INTERNAL_SERVER_ERROR", message: expect.stringMatching(/^The database took too long and stopped; nothing was changed on this conversation/) }]);
      expect((await row(held.id)).status).toBe(held.status);
    } finally {
      await gateway.close();
    }
  });
});
