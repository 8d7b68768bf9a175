import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { foldTally } from "../src/domain/conversation-tallies.js";
import type { Prisma } from "../src/generated/prisma/client.js";
import { createGateway } from "../src/gateway.js";
import { dataOf, startTestGateway, testConfig, type TestGateway } from "./helpers.js";

// conversationCounts and labels are summed from tallies a trigger keeps in the write path. Every
// figure here is checked against the conversations themselves, counted by Prisma.

const COUNTS = `query($f: ConversationFilter) { conversationCounts(filter: $f) { total open closed archived unassigned withUnread unreadMessages } }`;

let t: TestGateway;
let workspaceId: string;
let agentId: string;

beforeAll(async () => {
  // No folding on a timer here (testConfig): the last test of this block folds by hand and counts the rows.
  t = await startTestGateway();
  workspaceId = t.seed!.workspaceId;
  agentId = (await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId, role: "AGENT", active: true } })).id;
});
afterAll(() => t?.close());

type Filter = Record<string, unknown> | null;

/** The filters a sidebar sends, each with the Prisma condition that means the same. */
const filters = (): [Filter, Prisma.ConversationWhereInput][] => [
  [null, {}],
  [{ status: ["OPEN"] }, { status: "OPEN" }],
  [{ assignedToId: agentId }, { assignedToId: agentId }],
  [{ unassigned: true }, { assignedToId: null }],
  [{ hasUnread: true }, { unreadCount: { gt: 0 } }],
  [{ priority: ["HIGH", "MEDIUM"] }, { priority: { in: ["HIGH", "MEDIUM"] } }],
  [{ channel: ["EMAIL", "SMS"], status: ["OPEN", "CLOSED"] }, { channel: { in: ["EMAIL", "SMS"] }, status: { in: ["OPEN", "CLOSED"] } }],
  [{ status: ["OPEN"], unassigned: false, hasUnread: false }, { status: "OPEN", assignedToId: { not: null }, unreadCount: 0 }],
  [{ status: [] }, { status: { in: [] } }],
  [{ priority: [], hasUnread: true }, { priority: { in: [] } }],
  // Not kept in tallies: counted from the conversations.
  [{ labels: ["billing"] }, { labels: { has: "billing" } }],
];

async function countedFromConversations(where: Prisma.ConversationWhereInput) {
  const rows = await t.db.prisma.conversation.findMany({ where: { workspaceId, ...where }, select: { status: true, assignedToId: true, unreadCount: true } });
  return {
    total: rows.length,
    open: rows.filter((c) => c.status === "OPEN").length,
    closed: rows.filter((c) => c.status === "CLOSED").length,
    archived: rows.filter((c) => c.status === "ARCHIVED").length,
    unassigned: rows.filter((c) => !c.assignedToId).length,
    withUnread: rows.filter((c) => c.unreadCount > 0).length,
    unreadMessages: rows.reduce((sum, c) => sum + c.unreadCount, 0),
  };
}

async function expectCountsAgree() {
  for (const [filter, where] of filters()) {
    const { conversationCounts } = dataOf<{ conversationCounts: unknown }>(await t.gql(COUNTS, { f: filter }));
    expect(conversationCounts, JSON.stringify(filter)).toEqual(await countedFromConversations(where));
  }
  const perLabel = new Map<string, number>();
  for (const { labels } of await t.db.prisma.conversation.findMany({ where: { workspaceId }, select: { labels: true } })) {
    for (const label of labels) perLabel.set(label, (perLabel.get(label) ?? 0) + 1);
  }
  const { labels } = dataOf<{ labels: { name: string; conversationCount: number }[] }>(await t.gql(`{ labels { name conversationCount } }`));
  // Ties are in the database's collation order, so only the counts' order is compared as a list.
  const byName = (x: { name: string }, y: { name: string }) => (x.name < y.name ? -1 : 1);
  expect([...labels].sort(byName)).toEqual([...perLabel].map(([name, conversationCount]) => ({ name, conversationCount })).sort(byName));
  expect(labels.map((l) => l.conversationCount)).toEqual([...perLabel.values()].sort((x, y) => y - x));
}

const tallyRows = () => t.db.prisma.conversationTally.count({ where: { workspaceId } });
const labelTallyRows = () => t.db.prisma.labelTally.count({ where: { workspaceId } });

let deliveries = 0;
const receive = (conversationId: string) =>
  t.gql(`mutation($input: ReceiveMessageInput!) { receiveMessage(input: $input) { id } }`, {
    input: { conversationId, body: "Any news on my order?", externalId: `counts-${deliveries++}` },
  });

async function someConversations(n: number) {
  // Of active contacts: one of them starts a new conversation below.
  return t.db.prisma.conversation.findMany({ where: { workspaceId, contact: { status: "ACTIVE" } }, orderBy: { id: "asc" }, take: n, select: { id: true, contactId: true } });
}

describe("conversationCounts and labels from tallies kept in the write path", () => {
  it("reads the tallies, not the conversations, when the filter allows", async () => {
    const { statements } = await t.db.sql.record(() => t.gql(COUNTS, { f: { status: ["OPEN"], assignedToId: agentId } }));
    expect(statements.map((s) => s.sql).join("\n")).toMatch(/FROM "ConversationTally"/);
    const labels = await t.db.sql.record(() => t.gql(`{ labels { name } }`));
    expect(labels.statements.map((s) => s.sql).join("\n")).toMatch(/FROM "LabelTally"/);
    const labelled = await t.db.sql.record(() => t.gql(COUNTS, { f: { labels: ["billing"] } }));
    expect(labelled.statements.map((s) => s.sql).join("\n")).not.toMatch(/ConversationTally/);
  });

  it("agree with the conversations after every kind of write", async () => {
    await expectCountsAgree();
    const [a, b, c, d] = await someConversations(4);
    const writes: [string, Record<string, unknown>][] = [
      [`mutation($id: ID!) { updateConversationStatus(id: $id, status: CLOSED) { id } }`, { id: a.id }],
      [`mutation($id: ID!) { updateConversationStatus(id: $id, status: OPEN) { id } }`, { id: a.id }],
      [`mutation($id: ID!) { updateConversationPriority(id: $id, priority: HIGH) { id } }`, { id: b.id }],
      [`mutation($id: ID!) { updateConversationPriority(id: $id, priority: null) { id } }`, { id: c.id }],
      [`mutation($id: ID!, $agent: ID) { assignConversation(id: $id, agentId: $agent) { id } }`, { id: c.id, agent: agentId }],
      [`mutation($id: ID!) { assignConversation(id: $id, agentId: null) { id } }`, { id: d.id }],
      [`mutation($id: ID!) { markConversationRead(id: $id) { id } }`, { id: b.id }],
      [`mutation($id: ID!) { addConversationLabels(id: $id, labels: ["billing", "counted"]) { id } }`, { id: d.id }],
      [`mutation($id: ID!) { addConversationLabels(id: $id, labels: ["counted"]) { id } }`, { id: a.id }],
      [`mutation($id: ID!) { removeConversationLabels(id: $id, labels: ["counted", "billing"]) { id } }`, { id: d.id }],
      [`mutation($id: ID!) { setConversationLabels(id: $id, labels: ["vip", "counted"]) { id } }`, { id: b.id }],
      [
        `mutation($ids: [ID!]!, $agent: ID) { bulkUpdateConversations(ids: $ids, status: ARCHIVED, priority: LOW, assignToId: $agent, addLabels: ["bulk"], removeLabels: ["vip"]) { errors { code } } }`,
        { ids: [a.id, b.id, c.id], agent: agentId },
      ],
      [
        `mutation($contact: ID!) { createConversation(input: { contactId: $contact, channel: SMS, priority: HIGH, labels: ["counted", "new"] }) { id } }`,
        { contact: a.contactId },
      ],
    ];
    for (const [mutation, variables] of writes) dataOf(await t.gql(mutation, variables));
    for (const { id } of [a, b, c, d]) dataOf(await receive(id));
    await expectCountsAgree();
  });

  it("conversations' totalCount agrees too", async () => {
    for (const [filter, where] of filters()) {
      const { conversations } = dataOf<{ conversations: { totalCount: number } }>(
        await t.gql(`query($f: ConversationFilter) { conversations(filter: $f, first: 1) { totalCount } }`, { f: filter }),
      );
      expect(conversations.totalCount, JSON.stringify(filter)).toBe(await t.db.prisma.conversation.count({ where: { workspaceId, ...where } }));
    }
  });

  it("concurrent writes to the same figures all count: writers add rows, never wait on one", async () => {
    const [a, b, c] = await someConversations(3);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => receive([a, b, c][i % 3].id)),
      ...[a, b, c].map(({ id }) => t.gql(`mutation($id: ID!) { updateConversationStatus(id: $id, status: CLOSED) { id } }`, { id })),
      ...[a, b, c].map(({ id }) => t.gql(`mutation($id: ID!) { assignConversation(id: $id, agentId: null) { id } }`, { id })),
    ]);
    for (const result of results) expect(result.errors).toBeUndefined();
    await expectCountsAgree();
  });

  it("folding leaves one row per key and the same figures; a pass from its mark folds only what is new", async () => {
    const keys = await t.db.prisma.conversationTally.groupBy({
      by: ["workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread"],
      where: { workspaceId },
      having: { conversations: { _sum: { not: 0 } } },
    });
    const labels = await t.db.prisma.labelTally.groupBy({ by: ["label"], where: { workspaceId }, having: { conversations: { _sum: { not: 0 } } } });
    expect(await tallyRows()).toBeGreaterThan(keys.length);
    expect(await labelTallyRows()).toBeGreaterThan(labels.length);
    // Passes from several instances at once: one folds, none counts a row twice.
    const marks = await Promise.all([0, 1, 2].map(() => foldTally(t.db.prisma, "ConversationTally", 0n)));
    const mark = marks.reduce((a, b) => (a > b ? a : b));
    await Promise.all([0, 1, 2].map(() => foldTally(t.db.prisma, "LabelTally", 0n)));
    expect(await tallyRows()).toBe(keys.length);
    expect(await labelTallyRows()).toBe(labels.length);
    await expectCountsAgree();

    expect(await foldTally(t.db.prisma, "ConversationTally", mark)).toBe(mark);
    expect(await tallyRows()).toBe(keys.length);

    const [a] = await someConversations(1);
    dataOf(await receive(a.id));
    expect(await tallyRows()).toBe(keys.length + 2);
    expect(await foldTally(t.db.prisma, "ConversationTally", mark)).toBeGreaterThan(mark);
    expect(await tallyRows()).toBeLessThanOrEqual(keys.length + 1);
    await expectCountsAgree();
  });
});

describe("a running gateway keeps its tallies small by itself", () => {
  let live: TestGateway;
  beforeAll(async () => {
    live = await startTestGateway({ seed: { contacts: 10, conversations: 30 } });
  });
  afterAll(() => live?.close());

  it("folds the deltas it finds within a few passes and vacuums the tallies", async () => {
    const { id } = await live.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: live.seed!.workspaceId } });
    for (let i = 0; i < 5; i++) {
      dataOf(await live.gql(`mutation($id: ID!) { updateConversationStatus(id: $id, status: ${i % 2 ? "OPEN" : "CLOSED"}) { id } }`, { id }));
    }
    // Folding starts after the writes: a delta committed while a pass runs may land below the
    // pass's mark and wait for the hourly full pass (by design, see foldTalliesPeriodically),
    // which a test cannot wait for.
    const folding = await createGateway(testConfig({ TALLY_COMPACTION_INTERVAL_MS: "50" }), { db: live.db });
    try {
      const keyCount = async () =>
        (await live.db.prisma.conversationTally.groupBy({ by: ["status", "assignedToId", "priority", "channel", "hasUnread"], having: { conversations: { _sum: { not: 0 } } } })).length;
      await expect.poll(async () => (await live.db.prisma.conversationTally.count()) - (await keyCount()), { timeout: 10_000 }).toBe(0);
      const vacuumed = async () =>
        (await live.db.prisma.$queryRaw<{ at: Date | null }[]>`SELECT last_vacuum AS at FROM pg_stat_user_tables WHERE relname = 'ConversationTally'`)[0]?.at ?? null;
      await expect.poll(vacuumed, { timeout: 10_000 }).not.toBeNull();
    } finally {
      await folding.close();
    }
  });
});
