import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData, type SeedResult } from "../src/db/seed.js";
import { createGateway } from "../src/gateway.js";
import { onPostgres, startTestGateway, testConfig, type TestGateway } from "./helpers.js";
import { overHttp, overSse, overWs, sseInProcess, subscribersOf, unreadTotalsOf, until, wsClient } from "./live.js";

// Live feeds through real transports: graphql-ws over a socket and graphql-sse over HTTP, against
// a listening gateway; every event comes from a real mutation sent over HTTP.
let t: TestGateway;
let url: URL;
let admin: string;
let other: SeedResult;
let otherAdmin: string;
let ws: Client;
let otherWs: Client;

beforeAll(async () => {
  // No per-caller cap: one test opens 1,700 subscriptions with one token (the cap is tested on a gateway of its own).
  t = await startTestGateway({ config: { MAX_SUBSCRIPTIONS_PER_CALLER: "0" } });
  url = await t.gateway.listen(0, "127.0.0.1");
  admin = await t.token();
  other = await seedDemoData(t.db.prisma, { seed: 4242, contacts: 5, conversations: 12, workspaceName: "Other Co" });
  const otherAgent = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: other.workspaceId, role: "ADMIN" } });
  otherAdmin = t.tokenFor({ agentId: otherAgent.id, workspaceId: other.workspaceId, role: "ADMIN" });
  ws = wsClient(url, admin);
  otherWs = wsClient(url, otherAdmin);
});
// Every test starts with no subscriber left (closing one is asynchronous on the server).
afterEach(() => until(() => subscribersOf(t.gateway) === 0, "every subscription to be released"));
afterAll(async () => {
  await ws?.dispose();
  await otherWs?.dispose();
  await t?.close();
});

const TOTALS = `subscription($a: ID) { unreadTotals(assignedToId: $a) { unreadConversations unreadMessages } }`;
const UNREAD = `subscription($c: ID, $a: ID) { unreadCountChanged(conversationId: $c, assignedToId: $a) {
  conversationId unreadCount conversation { id unreadCount lastMessagePreview contact { id } assignedTo { id } } } }`;
const EVENTS = `subscription($id: ID, $f: ConversationFilter) { conversationEvents(id: $id, filter: $f) {
  type conversation { id status priority labels unreadCount } activity { id type from to actor { id } } } }`;

type Totals = { unreadTotals: { unreadConversations: number; unreadMessages: number } };
type Unread = { unreadCountChanged: { conversationId: string; unreadCount: number; conversation: any } };
type Event = { conversationEvents: { type: string; conversation: any; activity: any } };

let externalIds = 0;
const receive = (conversationId: string, token = admin) =>
  overHttp(url, token, `mutation($i: ReceiveMessageInput!) { receiveMessage(input: $i) { id } }`, {
    i: { conversationId, body: `live ${++externalIds}`, externalId: `live-${externalIds}` },
  });
const markRead = (id: string) => overHttp(url, admin, `mutation($id: ID!) { markConversationRead(id: $id) { id } }`, { id });
const assign = (id: string, agentId: string | null) =>
  overHttp(url, admin, `mutation($id: ID!, $a: ID) { assignConversation(id: $id, agentId: $a) { id } }`, { id, a: agentId });
const setPriority = (id: string, priority: string) =>
  overHttp(url, admin, `mutation($id: ID!, $p: ConversationPriority) { updateConversationPriority(id: $id, priority: $p) { id } }`, { id, p: priority });
const addLabels = (id: string, labels: string[]) =>
  overHttp(url, admin, `mutation($id: ID!, $l: [String!]!) { addConversationLabels(id: $id, labels: $l) { id } }`, { id, l: labels });

const countsOf = (assignedToId: string | null, token = admin) => unreadTotalsOf(url, token, assignedToId);

const taken = new Set<string>();
async function conversation(where: Record<string, unknown> = {}, workspaceId = t.seed!.workspaceId) {
  const rows = await t.db.prisma.conversation.findMany({ where: { workspaceId, ...where }, orderBy: { id: "asc" } });
  const row = rows.find((r) => !taken.has(r.id));
  if (!row) throw new Error(`no conversation left for ${JSON.stringify(where)}`);
  taken.add(row.id);
  return row;
}

describe("unreadTotals", () => {
  it("sends the current totals at once, then new totals after a message arrives and after it is read (graphql-ws)", async () => {
    const feed = overWs<Totals>(ws, TOTALS);
    expect((await feed.next()).unreadTotals).toEqual(await countsOf(null));
    const conv = await conversation({ unreadCount: 0 });
    await receive(conv.id);
    const after = (await feed.next()).unreadTotals;
    expect(after).toEqual(await countsOf(null));
    await markRead(conv.id);
    expect((await feed.next()).unreadTotals).toEqual({ unreadConversations: after.unreadConversations - 1, unreadMessages: after.unreadMessages - 1 });
    await feed.close();
  });

  it("moves both agents' totals when an unread conversation is reassigned (graphql-sse)", async () => {
    const conv = await conversation({ unreadCount: { gt: 0 }, assignedToId: { not: null } });
    const to = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: conv.workspaceId, active: true, id: { not: conv.assignedToId! } } });
    const from = overSse<Totals>(url, admin, TOTALS, { a: conv.assignedToId });
    const into = overSse<Totals>(url, admin, TOTALS, { a: to.id });
    const fromBefore = (await from.next()).unreadTotals;
    const intoBefore = (await into.next()).unreadTotals;
    expect(fromBefore).toEqual(await countsOf(conv.assignedToId));
    expect(intoBefore).toEqual(await countsOf(to.id));

    await assign(conv.id, to.id);
    expect((await from.next()).unreadTotals).toEqual({
      unreadConversations: fromBefore.unreadConversations - 1,
      unreadMessages: fromBefore.unreadMessages - conv.unreadCount,
    });
    expect((await into.next()).unreadTotals).toEqual({
      unreadConversations: intoBefore.unreadConversations + 1,
      unreadMessages: intoBefore.unreadMessages + conv.unreadCount,
    });
    await from.close();
    await into.close();
    from.dispose();
    into.dispose();
  });

  it("is computed once per (workspace, assignee) and fanned out: many subscribers of a key see the same figures", async () => {
    const feeds = Array.from({ length: 20 }, () => overWs<Totals>(ws, TOTALS));
    const first = await Promise.all(feeds.map((f) => f.next()));
    expect(new Set(first.map((f) => JSON.stringify(f))).size).toBe(1);
    expect(t.gateway.feeds.stats().totalsKeys).toBe(1);
    const conv = await conversation({ unreadCount: 0 });
    await receive(conv.id);
    const next = await Promise.all(feeds.map((f) => f.next()));
    for (const frame of next) expect(frame.unreadTotals).toEqual(await countsOf(null));
    await Promise.all(feeds.map((f) => f.close()));
  });
});

describe("unreadCountChanged", () => {
  it("emits the new count with the conversation, loaded fresh for each event (graphql-sse)", async () => {
    const conv = await conversation({ unreadCount: 0 });
    const feed = overSse<Unread>(url, admin, UNREAD, { c: conv.id });
    await until(() => subscribersOf(t.gateway) === 1, "the subscription");
    await receive(conv.id);
    const first = (await feed.next()).unreadCountChanged;
    expect(first).toMatchObject({ conversationId: conv.id, unreadCount: 1, conversation: { id: conv.id, unreadCount: 1, contact: { id: conv.contactId } } });
    expect(first.conversation.lastMessagePreview).toBe(`live ${externalIds}`);
    await markRead(conv.id);
    expect((await feed.next()).unreadCountChanged).toMatchObject({ conversationId: conv.id, unreadCount: 0, conversation: { unreadCount: 0 } });
    await feed.close();
    feed.dispose();
  });

  it("narrows by conversation and by assignee; changes that do not move the count are not sent", async () => {
    const agent = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, active: true, role: "AGENT" } });
    const mine = await conversation({ unreadCount: 0 });
    const elsewhere = await conversation({ unreadCount: 0 });
    await assign(mine.id, agent.id);
    await assign(elsewhere.id, null);
    const byAgent = overWs<Unread>(ws, UNREAD, { a: agent.id });
    const byConversation = overWs<Unread>(ws, UNREAD, { c: elsewhere.id });
    await until(() => subscribersOf(t.gateway) === 2, "the subscriptions");
    await setPriority(mine.id, "HIGH");
    await receive(elsewhere.id);
    await receive(mine.id);
    expect((await byAgent.next()).unreadCountChanged).toMatchObject({ conversationId: mine.id, unreadCount: 1, conversation: { assignedTo: { id: agent.id } } });
    expect((await byConversation.next()).unreadCountChanged).toMatchObject({ conversationId: elsewhere.id, unreadCount: 1 });
    await receive(elsewhere.id);
    expect((await byConversation.next()).unreadCountChanged).toMatchObject({ conversationId: elsewhere.id, unreadCount: 2 });
    await byAgent.close();
    await byConversation.close();
  });
  it("does not send a count that reaches the gateway after a newer one of the same conversation: the last count is the latest", async () => {
    const conv = await conversation({ unreadCount: 0 });
    const feed = overSse<Unread>(url, admin, UNREAD, { c: conv.id });
    await until(() => subscribersOf(t.gateway) === 1, "the subscription");
    await receive(conv.id);
    expect((await feed.next()).unreadCountChanged.unreadCount).toBe(1);
    const afterFirst = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } });
    await receive(conv.id);
    expect((await feed.next()).unreadCountChanged.unreadCount).toBe(2);
    // The first commit's event arriving now, as it can when two writers finish in either order or
    // it comes from another instance through Redis.
    t.gateway.bus.publish({
      workspaceId: conv.workspaceId,
      conversationId: conv.id,
      activities: [],
      unreadCount: 1,
      version: afterFirst.updatedAt.getTime(),
      unreadChanged: true,
      assignedToId: afterFirst.assignedToId,
      previousAssignedToId: afterFirst.assignedToId,
      committedAt: Date.now(),
    });
    await receive(conv.id);
    expect((await feed.next()).unreadCountChanged.unreadCount).toBe(3);
    await feed.close();
    feed.dispose();
  });
});

describe("conversationEvents", () => {
  it("sends every activity of matching conversations, filtered exactly like the conversations query", async () => {
    const a = await conversation({ status: "OPEN", priority: { not: "LOW" } });
    const b = await conversation({ status: "OPEN", priority: { not: "LOW" } });
    const filter = { status: ["OPEN"], labels: ["live-feed"] };
    const feed = overWs<Event>(ws, EVENTS, { f: filter });
    await until(() => subscribersOf(t.gateway) === 1, "the subscription");

    await setPriority(b.id, "LOW"); // b does not match: no label
    await addLabels(a.id, ["Live-Feed"]); // a matches once labelled
    await setPriority(a.id, "LOW");
    const first = (await feed.next()).conversationEvents;
    expect(first).toMatchObject({ type: "LABELS_CHANGED", conversation: { id: a.id, labels: expect.arrayContaining(["live-feed"]) }, activity: { type: "LABELS_CHANGED" } });
    const second = (await feed.next()).conversationEvents;
    expect(second).toMatchObject({ type: "PRIORITY_CHANGED", conversation: { id: a.id, priority: "LOW" }, activity: { to: "LOW" } });
    expect(second.activity.actor).not.toBeNull();

    // The query agrees on which of the two conversations the filter covers.
    const { conversations } = await overHttp(url, admin, `query($f: ConversationFilter) { conversations(first: 100, filter: $f) { edges { node { id } } } }`, { f: filter });
    const listed = conversations.edges.map((e: any) => e.node.id);
    expect(listed).toContain(a.id);
    expect(listed).not.toContain(b.id);
    await feed.close();
  });

  it("a search filter covers the contact's name, as in the query; id narrows to one conversation", async () => {
    const conv = await conversation({ status: "OPEN" });
    const contact = await t.db.prisma.contact.findUniqueOrThrow({ where: { id: conv.contactId } });
    const otherConv = await conversation({ contactId: { not: conv.contactId } });
    const bySearch = overSse<Event>(url, admin, EVENTS, { f: { search: contact.lastName ?? contact.firstName } });
    const byId = overWs<Event>(ws, EVENTS, { id: otherConv.id });
    await until(() => subscribersOf(t.gateway) === 2, "the subscriptions");
    await receive(conv.id);
    await receive(otherConv.id);
    expect((await bySearch.next()).conversationEvents).toMatchObject({ type: "MESSAGE_RECEIVED", conversation: { id: conv.id } });
    expect((await byId.next()).conversationEvents).toMatchObject({ type: "MESSAGE_RECEIVED", conversation: { id: otherConv.id } });
    await bySearch.close();
    bySearch.dispose();
    await byId.close();
  });

  it("delivers to filtered subscribers however many distinct filters a workspace has (a statement's select list holds at most 1,664 columns)", async () => {
    const conv = await conversation({ status: "OPEN" });
    const crowd = wsClient(url, admin);
    const others = Array.from({ length: 1_700 }, (_, i) => overWs<Event>(crowd, EVENTS, { f: { search: `nobody-${i}` } }));
    const feed = overWs<Event>(ws, EVENTS, { f: { status: ["OPEN"] } });
    try {
      await until(() => subscribersOf(t.gateway) === 1_701, "the subscriptions");
      await receive(conv.id);
      expect((await feed.next()).conversationEvents).toMatchObject({ type: "MESSAGE_RECEIVED", conversation: { id: conv.id } });
    } finally {
      await feed.close();
      await Promise.all(others.map((other) => other.close()));
      await crowd.dispose();
    }
  }, 60_000);

  it.runIf(onPostgres)("a subscriber whose filter cannot be evaluated is told so, its stream ended, instead of silently missing the event", async () => {
    const conv = await conversation({ status: "OPEN", priority: { not: "LOW" } });
    const filtered = overWs<Event>(ws, EVENTS, { f: { search: "a" } });
    const unfiltered = overWs<Event>(ws, EVENTS, { id: conv.id });
    await until(() => subscribersOf(t.gateway) === 2, "the subscriptions");
    // Asked for before the error comes: graphql-ws's iterate() loses an error that arrives before its first next().
    const ended = filtered.next().catch((errors: unknown) => JSON.stringify(errors));
    // A search filter reads Contact; a priority change does not. Hold Contact, so the filter
    // statement waits behind the lock, then cancel it: a failure of the database's, mid-delivery.
    await t.db.withSession(async (session) => {
      await session.query("BEGIN");
      try {
        await session.query(`LOCK TABLE "Contact" IN ACCESS EXCLUSIVE MODE`);
        await setPriority(conv.id, "LOW");
        const cancel = `SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity WHERE query LIKE '%AS "f0"%' AND state = 'active' AND pid <> pg_backend_pid()`;
        await until(async () => (await session.query<{ cancelled: boolean }>(cancel)).length > 0, "the filter statement to wait for the lock");
      } finally {
        await session.query("ROLLBACK");
      }
    });
    expect((await unfiltered.next()).conversationEvents).toMatchObject({ type: "PRIORITY_CHANGED", conversation: { id: conv.id } });
    expect(await ended).toContain("could not be delivered");
    expect(await ended).toContain('"code":"INTERNAL_SERVER_ERROR"');
    await unfiltered.close();
  });

  it("a bulk change sends each conversation's activities, in order, with the records as they are after it", async () => {
    const ids = (await Promise.all(Array.from({ length: 5 }, () => conversation({ status: "OPEN", priority: { not: "HIGH" } })))).map((c) => c.id);
    const feed = overWs<Event>(ws, EVENTS, { f: { labels: ["bulk-live"] } });
    const totals = overWs<Totals>(ws, TOTALS);
    const totalsBefore = (await totals.next()).unreadTotals;
    await until(() => subscribersOf(t.gateway) === 2, "the subscriptions");
    await overHttp(url, admin, `mutation($ids: [ID!]!) { bulkUpdateConversations(ids: $ids, status: CLOSED, addLabels: ["bulk-live"]) { updated { id } errors { id } } }`, { ids });
    const received = [];
    for (let i = 0; i < 10; i++) received.push((await feed.next()).conversationEvents);
    expect(received.map((e) => [e.conversation.id, e.type])).toEqual(ids.flatMap((id) => [[id, "STATUS_CHANGED"], [id, "LABELS_CHANGED"]]));
    for (const event of received) expect(event.conversation.status).toBe("CLOSED");

    // Unread figures did not move, so no totals frame: the next one is for the message below.
    const conv = await conversation({ unreadCount: 0 });
    await receive(conv.id);
    expect((await totals.next()).unreadTotals).toEqual({ unreadConversations: totalsBefore.unreadConversations + 1, unreadMessages: totalsBefore.unreadMessages + 1 });
    await feed.close();
    await totals.close();
  });

  it("a bulk change of 100 conversations reaches a subscriber whole: the queue holds a bulk update's events", async () => {
    const ids = (
      await t.db.prisma.conversation.findMany({
        where: { workspaceId: t.seed!.workspaceId, OR: [{ priority: null }, { priority: { in: ["MEDIUM", "HIGH"] } }] },
        take: 100,
        orderBy: { id: "desc" },
      })
    ).map((c) => c.id);
    expect(ids).toHaveLength(100);
    const feed = overWs<Event>(ws, EVENTS);
    try {
      await until(() => subscribersOf(t.gateway) === 1, "the subscription");
      const written = await overHttp(url, admin, `mutation($ids: [ID!]!) { bulkUpdateConversations(ids: $ids, addLabels: ["burst"], priority: LOW) { errors { id } } }`, { ids });
      expect(written.bulkUpdateConversations.errors).toEqual([]);
      const received = [];
      for (let i = 0; i < 200; i++) received.push((await feed.next()).conversationEvents);
      const activities = await t.db.prisma.conversationActivity.findMany({
        where: { conversationId: { in: ids }, OR: [{ type: "PRIORITY_CHANGED", to: { equals: "LOW" } }, { type: "LABELS_CHANGED", to: { array_contains: "burst" } }] },
      });
      expect(activities).toHaveLength(200);
      expect(new Set(received.map((event) => event.activity.id))).toEqual(new Set(activities.map((a) => a.id)));
    } finally {
      await feed.close();
    }
  });

  it("events that arrive together are executed from one read of their records, not one per event", async () => {
    // Changes written while nobody listened, then arriving at once (as a burst does through Redis).
    const ids = (await t.db.prisma.conversation.findMany({ where: { workspaceId: t.seed!.workspaceId }, take: 50, orderBy: { id: "asc" } })).map((c) => c.id);
    await overHttp(url, admin, `mutation($ids: [ID!]!) { bulkUpdateConversations(ids: $ids, addLabels: ["arrive-together"]) { errors { id } } }`, { ids });
    const activities = await t.db.prisma.conversationActivity.findMany({
      where: { conversationId: { in: ids }, type: "LABELS_CHANGED", to: { array_contains: "arrive-together" } },
      include: { conversation: true },
    });
    expect(activities).toHaveLength(50);
    const feed = overWs<Event>(ws, EVENTS);
    try {
      await until(() => subscribersOf(t.gateway) === 1, "the subscription");
      const { result: received, statements } = await t.db.sql.record(async () => {
        for (const { id, type, conversation: c } of activities) {
          t.gateway.bus.publish({
            workspaceId: c.workspaceId,
            conversationId: c.id,
            activities: [{ id, type }],
            unreadCount: c.unreadCount,
            version: c.updatedAt.getTime(),
            unreadChanged: false,
            assignedToId: c.assignedToId,
            previousAssignedToId: c.assignedToId,
            committedAt: Date.now(),
          });
        }
        const events = [];
        for (let i = 0; i < 50; i++) events.push((await feed.next()).conversationEvents);
        return events;
      });
      expect(received.map((event) => event.activity.id)).toEqual(activities.map((a) => a.id));
      const byId = (table: string) => statements.filter((s) => new RegExp(`FROM "${table}" t.* WHERE t."id" = ANY`, "s").test(s.sql)).length;
      expect(byId("ConversationActivity")).toBe(1);
      expect(byId("Conversation")).toBe(1);
    } finally {
      await feed.close();
    }
  });

  it("rejects a bad filter or id with BAD_USER_INPUT", async () => {
    const badLabel = overWs<Event>(ws, EVENTS, { f: { labels: ["no/slashes"] } });
    await expect(badLabel.next()).rejects.toThrow(/BAD_USER_INPUT/);
    const longSearch = overWs<Event>(ws, EVENTS, { f: { search: "x".repeat(201) } });
    await expect(longSearch.next()).rejects.toThrow(/search is at most 200 characters.*BAD_USER_INPUT/s);
    const badId = overSse<Totals>(url, admin, TOTALS, { a: "conv_000000000000" });
    await expect(badId.next()).rejects.toThrow(/BAD_USER_INPUT/);
    badId.dispose();
    // An empty id is a bad id, not "every conversation".
    for (const [query, variables] of [
      [EVENTS, { id: "" }],
      [UNREAD, { c: "" }],
      [UNREAD, { a: "" }],
      [TOTALS, { a: "" }],
    ] as const) {
      const empty = overSse<unknown>(url, admin, query, variables);
      await expect(empty.next()).rejects.toThrow(/BAD_USER_INPUT/);
      empty.dispose();
    }
  });

  it("a subscription that does not parse or validate gets BAD_USER_INPUT over graphql-ws too", async () => {
    for (const query of ["subscription { unreadTotals {", "subscription { unreadTotals { noSuchField } }"]) {
      const refused = await overWs(ws, query).next().catch((errors: unknown) => errors);
      expect(JSON.stringify(refused)).toMatch(/"code":"BAD_USER_INPUT"/);
    }
  });
});

describe("workspaces", () => {
  it("a subscriber of another workspace gets nothing of this one's changes", async () => {
    const otherConv = await conversation({ unreadCount: 0 }, other.workspaceId);
    const events = overWs<Event>(otherWs, EVENTS);
    const unread = overWs<Unread>(otherWs, UNREAD);
    const totals = overSse<Totals>(url, otherAdmin, TOTALS);
    const totalsBefore = (await totals.next()).unreadTotals;
    expect(totalsBefore).toEqual(await countsOf(null, otherAdmin));
    await until(() => subscribersOf(t.gateway) === 3, "the subscriptions");

    const mine = await conversation({ unreadCount: 0 });
    await receive(mine.id);
    await addLabels(mine.id, ["not-yours"]);
    // Events reach subscribers in commit order: the other workspace's first event is its own.
    await receive(otherConv.id, otherAdmin);
    expect((await events.next()).conversationEvents.conversation.id).toBe(otherConv.id);
    expect((await unread.next()).unreadCountChanged.conversationId).toBe(otherConv.id);
    expect((await totals.next()).unreadTotals).toEqual({ unreadConversations: totalsBefore.unreadConversations + 1, unreadMessages: totalsBefore.unreadMessages + 1 });
    await events.close();
    await unread.close();
    await totals.close();
    totals.dispose();
  });

  it("a conversation or agent id of another workspace behaves like a missing one, on every feed", async () => {
    const mine = await conversation({ unreadCount: 0, assignedToId: { not: null } });
    const missingAgent = "agt_000000000000";
    const foreignUnread = overWs<Unread>(otherWs, UNREAD, { c: mine.id });
    const foreignEvents = overWs<Event>(otherWs, EVENTS, { id: mine.id });
    const foreignTotals = overWs<Totals>(otherWs, TOTALS, { a: mine.assignedToId });
    const missingTotals = overWs<Totals>(otherWs, TOTALS, { a: missingAgent });
    // This workspace's agent counts, from the other workspace, exactly like an agent that does not exist.
    const first = (await foreignTotals.next()).unreadTotals;
    expect(first).toEqual((await missingTotals.next()).unreadTotals);
    expect(first).toEqual({ unreadConversations: 0, unreadMessages: 0 });
    const sentinel = await conversation({ unreadCount: 0 }, other.workspaceId);
    const own = overWs<Unread>(otherWs, UNREAD, { c: sentinel.id });
    const ownFirst = own.iterator.next();
    await until(() => subscribersOf(t.gateway) === 5, "the subscriptions");
    await receive(mine.id);
    await addLabels(mine.id, ["not-yours"]);
    await receive(sentinel.id, otherAdmin);
    // Events reach subscribers in commit order: once the sentinel's has arrived, anything of mine would have too.
    expect(((await ownFirst).value as { data: Unread }).data.unreadCountChanged.conversationId).toBe(sentinel.id);
    const quiet = (feed: { iterator: AsyncIterator<unknown> }) =>
      Promise.race([feed.iterator.next().then(() => "a frame"), new Promise((resolve) => setTimeout(() => resolve("quiet"), 300))]);
    expect(await Promise.all([foreignUnread, foreignEvents, foreignTotals].map(quiet))).toEqual(["quiet", "quiet", "quiet"]);
    await Promise.all([foreignUnread, foreignEvents, foreignTotals, missingTotals, own].map((feed) => feed.close()));
  });
});

describe("authentication", () => {
  it("a WebSocket without a token, or with a bad one, is closed with 4401 UNAUTHENTICATED", async () => {
    for (const token of [null, "not-a-jwt", t.tokenFor({ agentId: "agt_000000000000", workspaceId: "wsp_000000000000", role: "ADMIN" }).slice(0, -2)]) {
      let closed: any;
      const client = wsClient(url, token, { onClosed: (event) => (closed = event) });
      await expect(overWs(client, TOTALS).next()).rejects.toBeDefined();
      expect(closed).toMatchObject({ code: 4401 });
      expect(String(closed.reason)).toMatch(/^UNAUTHENTICATED/);
      await client.dispose();
    }
  });

  it("an SSE subscription without a token is refused with UNAUTHENTICATED", async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: TOTALS }),
    });
    const text = await response.text();
    expect(text).toContain("UNAUTHENTICATED");
    expect(subscribersOf(t.gateway)).toBe(0);
  });
});

describe("slow consumers", () => {
  // Each event carries the newest message, 4,000 characters long: the transport's own read-ahead
  // (the response stream buffers some kilobytes) then holds only a few, and the rest wait in the
  // subscription's queue.
  const UNREAD_WITH_MESSAGE = `subscription($c: ID) { unreadCountChanged(conversationId: $c) { unreadCount conversation { messages(first: 1) { edges { node { body } } } } } }`;
  const receiveInProcess = (gateway: TestGateway, conversationId: string, n: number) =>
    gateway.gql(`mutation($i: ReceiveMessageInput!) { receiveMessage(input: $i) { id } }`, {
      i: { conversationId, body: `slow ${n} `.padEnd(4_000, "."), externalId: `slow-${conversationId}-${n}` },
    });
  type Count = { unreadCountChanged: { unreadCount: number } };

  it("a subscriber that stops reading keeps the newest SUBSCRIPTION_QUEUE_SIZE (here 100) unreadCountChanged events, the oldest dropped", async () => {
    // A gateway of its own with a small queue, so that overflowing it takes few messages.
    const small = await startTestGateway({ seed: { contacts: 5, conversations: 10 }, config: { SUBSCRIPTION_QUEUE_SIZE: "100" } });
    const smallWs = wsClient(await small.gateway.listen(0, "127.0.0.1"), await small.token());
    const conv = await small.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: small.seed!.workspaceId } });
    const slow = await sseInProcess(small.gateway, await small.token(), UNREAD_WITH_MESSAGE, { c: conv.id });
    // A client that reads everything as it comes, to know when the last event has gone out.
    const fast = overWs<Count>(smallWs, `subscription($c: ID) { unreadCountChanged(conversationId: $c) { unreadCount } }`, { c: conv.id });
    const fastFirst = fast.iterator.next();
    await until(() => subscribersOf(small.gateway) === 2, "both subscriptions to start");
    try {
      const sent = 150;
      for (let i = 0; i < sent; i++) expect((await receiveInProcess(small, conv.id, i)).errors).toBeUndefined();
      const final = conv.unreadCount + sent;
      await fastFirst;
      while ((await fast.next()).unreadCountChanged.unreadCount < final);

      const counts = (await slow.frames<Count>((d) => d.unreadCountChanged.unreadCount === final)).map((d) => d.unreadCountChanged.unreadCount);
      // The queue's 100 plus the few the transport had read ahead before the client stopped.
      expect(counts.length).toBeLessThan(120);
      expect(counts.slice(-100)).toEqual(Array.from({ length: 100 }, (_, i) => final - 99 + i));
    } finally {
      await Promise.all([slow.close(), fast.close()]);
      await smallWs.dispose();
      await small.close();
    }
  }, 60_000);

  it("one caller may hold MAX_SUBSCRIPTIONS_PER_CALLER (here 3) subscriptions at once, over both transports; more are RATE_LIMITED", async () => {
    const small = await startTestGateway({ seed: { contacts: 5, conversations: 10 }, config: { MAX_SUBSCRIPTIONS_PER_CALLER: "3" } });
    const smallUrl = await small.gateway.listen(0, "127.0.0.1");
    const adminWs = wsClient(smallUrl, await small.token());
    const agentWs = wsClient(smallUrl, await small.token("AGENT"));
    const open = [overWs<Totals>(adminWs, TOTALS), overWs<Totals>(adminWs, TOTALS), overSse<Totals>(smallUrl, await small.token(), TOTALS)];
    try {
      for (const feed of open) await feed.next();
      const refused = await overWs<Totals>(adminWs, TOTALS).next().catch((errors: unknown) => errors);
      expect(JSON.stringify(refused)).toContain('"code":"RATE_LIMITED"');
      // Another agent has room of its own.
      const other = overWs<Totals>(agentWs, TOTALS);
      expect((await other.next()).unreadTotals).toEqual(await unreadTotalsOf(smallUrl, await small.token()));
      await other.close();
      // A closed subscription makes room again.
      await open.shift()!.close();
      await until(() => subscribersOf(small.gateway) === 2, "the closed subscription to be released");
      const again = overWs<Totals>(adminWs, TOTALS);
      expect((await again.next()).unreadTotals).toEqual(await unreadTotalsOf(smallUrl, await small.token()));
      open.push(again);
    } finally {
      await Promise.all(open.map((feed) => feed.close()));
      await adminWs.dispose();
      await agentWs.dispose();
      await small.close();
    }
  }, 60_000);

  it("an unreadTotals subscriber that reads late, after a burst of changes, ends on the current figures", async () => {
    const conv = await conversation();
    const slow = await sseInProcess(t.gateway, admin, TOTALS, {});
    await until(() => subscribersOf(t.gateway) === 1, "the subscription to start");
    try {
      const sent = 50;
      for (let i = 0; i < sent; i++) expect((await receiveInProcess(t, conv.id, i)).errors).toBeUndefined();
      const expected = await countsOf(null);
      const frames = await slow.frames<Totals>((d) => d.unreadTotals.unreadMessages === expected.unreadMessages);
      expect(frames.length).toBeLessThanOrEqual(sent + 1);
      expect(frames.at(-1)!.unreadTotals).toEqual(expected);
      // Nothing older follows the current figures.
      await expect(Promise.race([slow.frames<Totals>(() => true), new Promise((resolve) => setTimeout(() => resolve("quiet"), 300))])).resolves.toBe("quiet");
    } finally {
      await slow.close();
    }
  }, 60_000);
});

describe("shutdown", () => {
  it("close() releases every subscription: WebSocket clients get 1001 (going away), SSE streams are cut, not completed: both reconnect", async () => {
    const second = await createGateway(testConfig(), { db: t.db });
    const secondUrl = await second.listen(0, "127.0.0.1");
    const client = wsClient(secondUrl, admin);
    const overSocket = overWs<Totals>(client, TOTALS);
    const overStream = overSse<Totals>(secondUrl, admin, TOTALS);
    await overSocket.next();
    await overStream.next();
    expect(second.feeds.stats().subscribers).toBe(2);
    await second.close();
    expect(second.feeds.stats()).toMatchObject({ subscribers: 0, busListeners: 0 });
    await expect(overSocket.iterator.next()).rejects.toMatchObject({ code: 1001 });
    // graphql-sse ends a subscription for good on "complete"; a network error it retries.
    await expect(overStream.iterator.next()).rejects.toBeDefined();
    overStream.dispose();
    await client.dispose();
  });
});
