import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../src/db/seed.js";
import type { Conversation } from "../src/generated/prisma/client.js";
import { dataOf, startTestGateway, withFailingActivityInsert, type GraphQLResponse, type TestGateway } from "./helpers.js";

let t: TestGateway;
let agentToken: string;
let viewerToken: string;
beforeAll(async () => {
  t = await startTestGateway();
  agentToken = await t.token("AGENT");
  viewerToken = await t.token("VIEWER");
});
afterAll(() => t?.close());

const ws = () => t.seed!.workspaceId;
// Each test takes conversations no other test has touched, so tests stay independent.
const taken = new Set<string>();
async function freshConversation(where: Record<string, unknown> = {}): Promise<Conversation> {
  const rows = await t.db.prisma.conversation.findMany({ where: { workspaceId: ws(), ...where }, orderBy: { id: "asc" } });
  const row = rows.find((r) => !taken.has(r.id));
  if (!row) throw new Error(`no untouched conversation matches ${JSON.stringify(where)}`);
  taken.add(row.id);
  return row;
}
const activities = (conversationId: string) =>
  t.db.prisma.conversationActivity.findMany({ where: { conversationId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
const agentOf = async (role: "ADMIN" | "AGENT" | "VIEWER", active = true) =>
  t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: ws(), role, active }, orderBy: { createdAt: "asc" } });

function errorOf(response: GraphQLResponse<unknown>) {
  expect(response.errors, JSON.stringify(response.data)).toHaveLength(1);
  return response.errors![0];
}

const CONVERSATION_FIELDS = `id status priority labels tags unreadCount messageCount updatedAt lastMessageAt lastMessagePreview assignedTo { id }
  activity(first: 5) { totalCount edges { node { type from to actor { id } createdAt } } }`;

const STATUS = `mutation($id: ID!, $status: ConversationStatus!, $expected: DateTime) {
  updateConversationStatus(id: $id, status: $status, expectedUpdatedAt: $expected) { ${CONVERSATION_FIELDS} } }`;
const PRIORITY = `mutation($id: ID!, $priority: ConversationPriority, $expected: DateTime) {
  updateConversationPriority(id: $id, priority: $priority, expectedUpdatedAt: $expected) { ${CONVERSATION_FIELDS} } }`;
const ADD_LABELS = `mutation($id: ID!, $labels: [String!]!) { addConversationLabels(id: $id, labels: $labels) { ${CONVERSATION_FIELDS} } }`;
const REMOVE_LABELS = `mutation($id: ID!, $labels: [String!]!) { removeConversationLabels(id: $id, labels: $labels) { ${CONVERSATION_FIELDS} } }`;
const SET_LABELS = `mutation($id: ID!, $labels: [String!]!, $expected: DateTime) {
  setConversationLabels(id: $id, labels: $labels, expectedUpdatedAt: $expected) { ${CONVERSATION_FIELDS} } }`;
const SET_TAGS = `mutation($id: ID!, $tags: [String!]!) { setConversationTags(id: $id, tags: $tags) { ${CONVERSATION_FIELDS} } }`;
const ASSIGN = `mutation($id: ID!, $agentId: ID, $expected: DateTime) {
  assignConversation(id: $id, agentId: $agentId, expectedUpdatedAt: $expected) { ${CONVERSATION_FIELDS} } }`;
const READ = `mutation($id: ID!) { markConversationRead(id: $id) { ${CONVERSATION_FIELDS} } }`;
const RECEIVE = `mutation($input: ReceiveMessageInput!) {
  receiveMessage(input: $input) { id body direction externalId createdAt sender { id } conversation { ${CONVERSATION_FIELDS} } } }`;
const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) { id body direction externalId sender { id } conversation { ${CONVERSATION_FIELDS} } } }`;

describe("conversation field mutations", () => {
  it("updateConversationStatus returns the record, bumps updatedAt and records one activity with actor, from and to", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const admin = await agentOf("ADMIN");
    const { updateConversationStatus: after } = dataOf(await t.gql(STATUS, { id: conv.id, status: "CLOSED" }));
    expect(after.status).toBe("CLOSED");
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThan(conv.updatedAt.getTime());
    expect(after.activity.totalCount).toBe((await activities(conv.id)).length);
    expect(after.activity.edges[0].node).toEqual({
      type: "STATUS_CHANGED",
      from: "OPEN",
      to: "CLOSED",
      actor: { id: admin.id },
      createdAt: after.updatedAt,
    });
    // The same status again: success, no activity, no bump.
    const before = await activities(conv.id);
    const { updateConversationStatus: again } = dataOf(await t.gql(STATUS, { id: conv.id, status: "CLOSED" }));
    expect(again.updatedAt).toBe(after.updatedAt);
    expect(await activities(conv.id)).toEqual(before);
  });

  it("updateConversationPriority sets and clears (null), and asks for an explicit value", async () => {
    const conv = await freshConversation({ priority: "LOW" });
    const high = dataOf(await t.gql(PRIORITY, { id: conv.id, priority: "HIGH" })).updateConversationPriority;
    expect(high.priority).toBe("HIGH");
    expect(high.activity.edges[0].node).toMatchObject({ type: "PRIORITY_CHANGED", from: "LOW", to: "HIGH" });
    const cleared = dataOf(await t.gql(PRIORITY, { id: conv.id, priority: null })).updateConversationPriority;
    expect(cleared.priority).toBeNull();
    expect(cleared.activity.edges[0].node).toMatchObject({ type: "PRIORITY_CHANGED", from: "HIGH", to: null });
    const omitted = errorOf(await t.gql(`mutation($id: ID!) { updateConversationPriority(id: $id) { id } }`, { id: conv.id }));
    expect(omitted.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "priority" });
    expect((await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).priority).toBeNull();
  });

  it("adds, removes and sets labels, normalised, with one activity per real change and none for no-ops", async () => {
    const conv = await freshConversation({ labels: { isEmpty: true } });
    const added = dataOf(await t.gql(ADD_LABELS, { id: conv.id, labels: ["  VIP ", "Billing", "vip"] })).addConversationLabels;
    expect(added.labels).toEqual(["vip", "billing"]);
    expect(added.activity.edges[0].node).toMatchObject({ type: "LABELS_CHANGED", from: [], to: ["vip", "billing"] });

    const count = (await activities(conv.id)).length;
    dataOf(await t.gql(ADD_LABELS, { id: conv.id, labels: ["billing"] }));
    dataOf(await t.gql(REMOVE_LABELS, { id: conv.id, labels: ["not-there"] }));
    dataOf(await t.gql(SET_LABELS, { id: conv.id, labels: ["billing", "vip"] }));
    expect(await activities(conv.id)).toHaveLength(count);

    const removed = dataOf(await t.gql(REMOVE_LABELS, { id: conv.id, labels: ["VIP"] })).removeConversationLabels;
    expect(removed.labels).toEqual(["billing"]);
    expect(removed.activity.edges[0].node).toMatchObject({ from: ["vip", "billing"], to: ["billing"] });

    const set = dataOf(await t.gql(SET_LABELS, { id: conv.id, labels: ["urgent", "refund"], expected: removed.updatedAt })).setConversationLabels;
    expect(set.labels).toEqual(["urgent", "refund"]);
    expect(await activities(conv.id)).toHaveLength(count + 2);
  });

  it("rejects a bad label naming it, and a 21st label, changing nothing", async () => {
    const conv = await freshConversation({ labels: { isEmpty: true } });
    const bad = errorOf(await t.gql(ADD_LABELS, { id: conv.id, labels: ["ok", "no/slash"] }));
    expect(bad.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels", label: "no/slash" });
    expect(bad.message).toContain("no/slash");
    const long = errorOf(await t.gql(SET_LABELS, { id: conv.id, labels: ["x".repeat(51)] }));
    expect(long.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels" });

    const twenty = Array.from({ length: 20 }, (_, i) => `label-${i}`);
    dataOf(await t.gql(ADD_LABELS, { id: conv.id, labels: twenty }));
    const before = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } });
    const over = errorOf(await t.gql(ADD_LABELS, { id: conv.id, labels: ["one-more"] }));
    expect(over.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels" });
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).toEqual(before);
    const tooMany = errorOf(await t.gql(SET_LABELS, { id: conv.id, labels: [...twenty, "another"] }));
    expect(tooMany.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels" });
  });

  it("setConversationTags follows the label rules and records TAGS_CHANGED", async () => {
    const conv = await freshConversation();
    const tagged = dataOf(await t.gql(SET_TAGS, { id: conv.id, tags: [" Web ", "follow-up"] })).setConversationTags;
    expect(tagged.tags).toEqual(["web", "follow-up"]);
    expect(tagged.activity.edges[0].node).toMatchObject({ type: "TAGS_CHANGED", from: conv.tags, to: ["web", "follow-up"] });
    const bad = errorOf(await t.gql(SET_TAGS, { id: conv.id, tags: ["Ümlaut"] }));
    expect(bad).toMatchObject({ message: expect.stringMatching(/^Invalid tag "Ümlaut": tags are 1 to 50 characters/), extensions: { code: "BAD_USER_INPUT", field: "tags", tag: "Ümlaut" } });
    const many = errorOf(await t.gql(SET_TAGS, { id: conv.id, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }));
    expect(many.message).toBe("A conversation has at most 20 tags; this would make 21.");
  });

  it("assigns only active agents of the workspace; null unassigns; the current assignee is a no-op", async () => {
    const conv = await freshConversation({ assignedToId: null });
    const agent = await agentOf("AGENT");
    const assigned = dataOf(await t.gql(ASSIGN, { id: conv.id, agentId: agent.id })).assignConversation;
    expect(assigned.assignedTo).toEqual({ id: agent.id });
    expect(assigned.activity.edges[0].node).toMatchObject({ type: "ASSIGNED", from: null, to: agent.id });

    const count = (await activities(conv.id)).length;
    const same = dataOf(await t.gql(ASSIGN, { id: conv.id, agentId: agent.id })).assignConversation;
    expect(same.updatedAt).toBe(assigned.updatedAt);
    expect(await activities(conv.id)).toHaveLength(count);

    const inactive = await agentOf("AGENT", false);
    const viewer = await agentOf("VIEWER");
    for (const agentId of [inactive.id, viewer.id, "agt_doesnotexist0000"]) {
      const error = errorOf(await t.gql(ASSIGN, { id: conv.id, agentId }));
      expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "agentId" });
    }
    // Another workspace's agent is reported exactly like a missing one.
    const foreign = (await seedOtherWorkspace()).agentId;
    expect(errorOf(await t.gql(ASSIGN, { id: conv.id, agentId: foreign }))).toMatchObject({
      message: `No agent with id "${foreign}" in your workspace.`,
      extensions: { code: "BAD_USER_INPUT", field: "agentId" },
    });
    const malformed = errorOf(await t.gql(ASSIGN, { id: conv.id, agentId: "cnt_notanagent000000" }));
    expect(malformed.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "agentId" });

    // Leaving agentId out is not unassigning: a client has to say null.
    expect(errorOf(await t.gql(`mutation($id: ID!) { assignConversation(id: $id) { id } }`, { id: conv.id })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "agentId",
    });
    expect(await activities(conv.id)).toHaveLength(count);
    const unassigned = dataOf(await t.gql(ASSIGN, { id: conv.id, agentId: null })).assignConversation;
    expect(unassigned.assignedTo).toBeNull();
    expect(unassigned.activity.edges[0].node).toMatchObject({ type: "ASSIGNED", from: agent.id, to: null });
    expect(await activities(conv.id)).toHaveLength(count + 1);
  });

  it("markConversationRead sets unreadCount to 0 and records READ; nothing unread is a no-op", async () => {
    const conv = await freshConversation({ unreadCount: { gt: 0 } });
    const read = dataOf(await t.gql(READ, { id: conv.id })).markConversationRead;
    expect(read.unreadCount).toBe(0);
    expect(read.activity.edges[0].node).toMatchObject({ type: "READ", from: conv.unreadCount, to: 0 });
    const again = dataOf(await t.gql(READ, { id: conv.id })).markConversationRead;
    expect(again.updatedAt).toBe(read.updatedAt);
    expect(again.activity.totalCount).toBe(read.activity.totalCount);
  });

  it("NOT_FOUND for a missing conversation; BAD_USER_INPUT for a malformed id", async () => {
    const missing = errorOf(await t.gql(READ, { id: "conv_doesnotexist0000" }));
    expect(missing.extensions!.code).toBe("NOT_FOUND");
    const malformed = errorOf(await t.gql(READ, { id: "nope" }));
    expect(malformed.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
  });
});

describe("SQL per write", () => {
  // The lock, the update, the activity (and for a message its insert and the contact) are one
  // statement: the cheapest a write can be, and the shortest time a row stays locked.
  it("a real change and a delivery cost one statement each inside their transaction", async () => {
    const conv = await freshConversation({ status: "OPEN", unreadCount: { gt: 0 }, assignedToId: { not: null } });
    const statementsOf = async (query: string, variables: Record<string, unknown>) => {
      const { result, statements } = await t.db.sql.record(() => t.gql(query, variables));
      dataOf(result);
      return statements.map((s) => s.sql.trim()).filter((sql) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(sql));
    };
    const minimal = (field: string, args: string) => `mutation($id: ID!) { ${field}(${args}) { __typename } }`;
    expect(await statementsOf(minimal("updateConversationStatus", "id: $id, status: CLOSED"), { id: conv.id })).toHaveLength(1);
    expect(await statementsOf(minimal("markConversationRead", "id: $id"), { id: conv.id })).toHaveLength(1);
    expect(await statementsOf(minimal("addConversationLabels", 'id: $id, labels: ["one-statement"]'), { id: conv.id })).toHaveLength(1);
    expect(await statementsOf(minimal("assignConversation", "id: $id, agentId: null"), { id: conv.id })).toHaveLength(1);
    expect(
      await statementsOf(minimal("receiveMessage", 'input: { conversationId: $id, body: "hi", externalId: "one-statement" }'), { id: conv.id }),
    ).toHaveLength(1);
    expect(await statementsOf(minimal("sendMessage", 'input: { conversationId: $id, body: "hi" }'), { id: conv.id })).toHaveLength(1);
  });
});

describe("expectedUpdatedAt", () => {
  it("a stale value is a CONFLICT that changes nothing; the current value succeeds", async () => {
    const conv = await freshConversation({ status: "OPEN", assignedToId: null });
    const first = dataOf(await t.gql(STATUS, { id: conv.id, status: "CLOSED", expected: conv.updatedAt.toISOString() })).updateConversationStatus;
    const rowBefore = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } });
    const activityBefore = await activities(conv.id);
    const agent = await agentOf("AGENT");
    for (const [query, vars] of [
      [STATUS, { status: "ARCHIVED" }],
      [PRIORITY, { priority: "HIGH" }],
      [SET_LABELS, { labels: ["stale"] }],
      [ASSIGN, { agentId: agent.id }],
    ] as const) {
      const error = errorOf(await t.gql(query, { id: conv.id, ...vars, expected: conv.updatedAt.toISOString() }));
      expect(error.extensions).toMatchObject({ code: "CONFLICT", field: "expectedUpdatedAt", updatedAt: first.updatedAt });
    }
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).toEqual(rowBefore);
    expect(await activities(conv.id)).toEqual(activityBefore);
    const next = dataOf(await t.gql(STATUS, { id: conv.id, status: "ARCHIVED", expected: first.updatedAt })).updateConversationStatus;
    expect(next.status).toBe("ARCHIVED");
  });

  it("two writes in one millisecond still get different updatedAt values", async () => {
    const conv = await freshConversation();
    const a = dataOf(await t.gql(SET_TAGS, { id: conv.id, tags: ["a"] })).setConversationTags;
    const b = dataOf(await t.gql(SET_TAGS, { id: conv.id, tags: ["b"] })).setConversationTags;
    const c = dataOf(await t.gql(SET_TAGS, { id: conv.id, tags: ["c"] })).setConversationTags;
    expect(new Date(b.updatedAt).getTime()).toBeGreaterThan(new Date(a.updatedAt).getTime());
    expect(new Date(c.updatedAt).getTime()).toBeGreaterThan(new Date(b.updatedAt).getTime());
  });
});

describe("messages", () => {
  it("receiveMessage moves every figure in one go: counts, lastMessageAt, preview, the contact's lastContacted", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const body = `  Hello,\n\n   my   parcel ${"is late ".repeat(30)}`;
    const sentAt = new Date(Date.now() - 1000).toISOString();
    const { receiveMessage: message } = dataOf(
      await t.gql(RECEIVE, { input: { conversationId: conv.id, body, externalId: `ext-${conv.id}`, sentAt } }),
    );
    expect(message).toMatchObject({ body, direction: "INBOUND", externalId: `ext-${conv.id}`, createdAt: sentAt, sender: null });
    const after = message.conversation;
    expect(after.messageCount).toBe(conv.messageCount + 1);
    expect(after.unreadCount).toBe(conv.unreadCount + 1);
    expect(after.lastMessageAt).toBe(sentAt);
    expect(after.lastMessagePreview).toBe(`Hello, my parcel ${"is late ".repeat(30)}`.slice(0, 140));
    expect(after.lastMessagePreview).toHaveLength(140);
    expect(after.activity.edges[0].node).toMatchObject({ type: "MESSAGE_RECEIVED", actor: null, to: { messageId: message.id } });
    const contact = await t.db.prisma.contact.findUniqueOrThrow({ where: { id: conv.contactId } });
    expect(contact.lastContacted!.toISOString()).toBe(sentAt);

    // A late delivery of an older message counts, but leaves lastMessageAt and the preview alone.
    const older = new Date(Date.now() - 86_400_000).toISOString();
    const late = dataOf(await t.gql(RECEIVE, { input: { conversationId: conv.id, body: "older", externalId: `ext-old-${conv.id}`, sentAt: older } }))
      .receiveMessage.conversation;
    expect(late).toMatchObject({ messageCount: conv.messageCount + 2, unreadCount: conv.unreadCount + 2, lastMessageAt: sentAt });
    expect(late.lastMessagePreview).toBe(after.lastMessagePreview);
    expect((await t.db.prisma.contact.findUniqueOrThrow({ where: { id: conv.contactId } })).lastContacted!.toISOString()).toBe(sentAt);
  });

  it("a retried delivery returns the first message and changes nothing; an externalId of another conversation is a CONFLICT", async () => {
    const conv = await freshConversation();
    const other = await freshConversation();
    const input = { conversationId: conv.id, body: "first try", externalId: `retry-${conv.id}` };
    const first = dataOf(await t.gql(RECEIVE, { input })).receiveMessage;
    const rowAfterFirst = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } });
    const retry = dataOf(await t.gql(RECEIVE, { input: { ...input, body: "second try" } })).receiveMessage;
    expect(retry.id).toBe(first.id);
    expect(retry.body).toBe("first try");
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).toEqual(rowAfterFirst);

    const clash = errorOf(await t.gql(RECEIVE, { input: { ...input, conversationId: other.id } }));
    expect(clash.extensions).toMatchObject({ code: "CONFLICT", field: "input.externalId" });
    expect(await t.db.prisma.message.count({ where: { conversationId: other.id } })).toBe(other.messageCount);
  });

  it("validates body, externalId and sentAt", async () => {
    const conv = await freshConversation();
    const cases: [Record<string, unknown>, string][] = [
      [{ body: "   " }, "input.body"],
      [{ body: "x".repeat(10_001) }, "input.body"],
      [{ externalId: "" }, "input.externalId"],
      [{ sentAt: new Date(Date.now() + 3_600_000).toISOString() }, "input.sentAt"],
    ];
    for (const [change, field] of cases) {
      const input = { conversationId: conv.id, body: "hello", externalId: `valid-${field}`, ...change };
      expect(errorOf(await t.gql(RECEIVE, { input })).extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
    expect(await t.db.prisma.message.count({ where: { conversationId: conv.id } })).toBe(conv.messageCount);
    const missing = errorOf(await t.gql(RECEIVE, { input: { conversationId: "conv_doesnotexist0000", body: "x", externalId: "x" } }));
    expect(missing.extensions!.code).toBe("NOT_FOUND");
  });

  it("counts characters, not UTF-16 units: an emoji at the preview's cut stays whole, a body of 10,000 emoji is accepted", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    // 🙏 is two UTF-16 units starting at index 139: a cut there by units leaves half of it, which PostgreSQL cannot store.
    const body = `${"a".repeat(139)}🙏 thanks, see you`;
    const { receiveMessage: message } = dataOf(await t.gql(RECEIVE, { input: { conversationId: conv.id, body, externalId: `emoji-${conv.id}` } }));
    expect(message.body).toBe(body);
    expect(message.conversation.lastMessagePreview).toBe(`${"a".repeat(139)}🙏`);

    const longest = "😀".repeat(10_000);
    const accepted = dataOf(await t.gql(RECEIVE, { input: { conversationId: conv.id, body: longest, externalId: `emoji-long-${conv.id}` } }));
    expect([...accepted.receiveMessage.body]).toHaveLength(10_000);
    expect([...accepted.receiveMessage.conversation.lastMessagePreview]).toHaveLength(140);
    const refused = errorOf(await t.gql(RECEIVE, { input: { conversationId: conv.id, body: `${longest}😀`, externalId: `emoji-over-${conv.id}` } }));
    expect(refused.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.body" });
  });

  it("quotes a refused label without splitting an emoji, so the error is valid UTF-8", async () => {
    const conv = await freshConversation();
    const refused = errorOf(await t.gql(ADD_LABELS, { id: conv.id, labels: [`a${"😀".repeat(31)}`] }));
    expect(refused.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels" });
    // With the u flag a surrogate range matches only a lone surrogate, never half of a pair.
    expect(refused.message).not.toMatch(/[\uD800-\uDFFF]/u);
    expect(refused.extensions!.label).not.toMatch(/[\uD800-\uDFFF]/u);
  });

  it("a sentAt a few minutes ahead (a drifting clock) counts as received now, so a later reply sorts after it", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const ahead = new Date(Date.now() + 4 * 60_000).toISOString();
    const received = dataOf(await t.gql(RECEIVE, { input: { conversationId: conv.id, body: "from a fast clock", externalId: `ahead-${conv.id}`, sentAt: ahead } }))
      .receiveMessage;
    expect(new Date(received.createdAt).getTime()).toBeLessThanOrEqual(Date.now());
    const reply = dataOf(await t.gql(SEND, { input: { conversationId: conv.id, body: "the reply" } })).sendMessage;
    expect(reply.conversation.lastMessagePreview).toBe("the reply");
    const { conversation } = dataOf(
      await t.gql(`query($id: ID!) { conversation(id: $id) { messages(first: 2) { edges { node { body } } } } }`, { id: conv.id }),
    );
    expect(conversation.messages.edges.map((e: any) => e.node.body)).toEqual(["the reply", "from a fast clock"]);
  });

  it("messages stamped with the same time list in the order they arrived, the last one first, as the preview shows it", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const sentAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
    const bodies = Array.from({ length: 12 }, (_, i) => `same second ${i}`);
    for (const body of bodies) await t.gql(RECEIVE, { input: { conversationId: conv.id, body, externalId: `tie-${conv.id}-${body}`, sentAt } });
    const { conversation } = dataOf(
      await t.gql(`query($id: ID!) { conversation(id: $id) { lastMessagePreview messages(first: 12) { edges { node { body } } } } }`, { id: conv.id }),
    );
    expect(conversation.messages.edges.map((e: any) => e.node.body)).toEqual([...bodies].reverse());
    expect(conversation.lastMessagePreview).toBe(bodies.at(-1));
  });

  it("sendMessage counts the reply as the caller's and leaves unread alone", async () => {
    const conv = await freshConversation({ unreadCount: { gt: 0 } });
    const agent = await agentOf("AGENT");
    const { sendMessage: message } = dataOf(
      await t.gql(SEND, { input: { conversationId: conv.id, body: "On it!" } }, { token: agentToken }),
    );
    expect(message).toMatchObject({ body: "On it!", direction: "OUTBOUND", externalId: null, sender: { id: agent.id } });
    expect(message.conversation).toMatchObject({ messageCount: conv.messageCount + 1, unreadCount: conv.unreadCount, lastMessagePreview: "On it!" });
    expect(message.conversation.activity.edges[0].node).toMatchObject({ type: "MESSAGE_SENT", actor: { id: agent.id }, to: { messageId: message.id } });
    expect(errorOf(await t.gql(SEND, { input: { conversationId: conv.id, body: "" } })).extensions).toMatchObject({ field: "input.body" });
  });
});

describe("several mutations in one request", () => {
  it("each result shows the state after its own write, not a record an earlier field of the request read", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const figures = "conversation { unreadCount messageCount lastMessagePreview }";
    const { a, b, c, d } = dataOf(
      await t.gql(
        `mutation($id: ID!) {
          a: receiveMessage(input: { conversationId: $id, externalId: "same-request-1", body: "one" }) { ${figures} }
          b: receiveMessage(input: { conversationId: $id, externalId: "same-request-2", body: "two" }) { ${figures} }
          c: markConversationRead(id: $id) { unreadCount }
          d: sendMessage(input: { conversationId: $id, body: "three" }) { ${figures} }
        }`,
        { id: conv.id },
      ),
    );
    expect([a, b, d].map((field) => field.conversation)).toEqual([
      { unreadCount: conv.unreadCount + 1, messageCount: conv.messageCount + 1, lastMessagePreview: "one" },
      { unreadCount: conv.unreadCount + 2, messageCount: conv.messageCount + 2, lastMessagePreview: "two" },
      { unreadCount: 0, messageCount: conv.messageCount + 3, lastMessagePreview: "three" },
    ]);
    expect(c.unreadCount).toBe(0);

    // A related record too: the contact read by the first field is read again after the rename.
    const { first, second } = dataOf(
      await t.gql(
        `mutation($contactId: ID!) {
          first: createConversation(input: { contactId: $contactId, channel: EMAIL }) { contact { firstName } }
          rename: updateContact(id: $contactId, input: { firstName: "Renamed" }) { id }
          second: createConversation(input: { contactId: $contactId, channel: EMAIL }) { contact { firstName } }
        }`,
        { contactId: conv.contactId },
      ),
    );
    expect(first.contact.firstName).not.toBe("Renamed");
    expect(second.contact.firstName).toBe("Renamed");
  });

  it("when a later one fails, the earlier ones, committed, still show their results; only the failed field is null", async () => {
    const conv = await freshConversation({ status: "OPEN", priority: { not: "HIGH" } });
    const inactive = await agentOf("AGENT", false);
    const response = await t.gql<Record<string, { priority?: string; labels?: string[] } | null>>(
      `mutation($id: ID!, $agent: ID!) {
        updateConversationPriority(id: $id, priority: HIGH) { priority }
        addConversationLabels(id: $id, labels: ["partial"]) { labels }
        assignConversation(id: $id, agentId: $agent) { id }
      }`,
      { id: conv.id, agent: inactive.id },
    );
    expect(response.data).toEqual({
      updateConversationPriority: { priority: "HIGH" },
      addConversationLabels: { labels: expect.arrayContaining(["partial"]) },
      assignConversation: null,
    });
    expect(response.errors).toEqual([expect.objectContaining({ path: ["assignConversation"], extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }) })]);
    const stored = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } });
    expect([stored.priority, stored.labels.includes("partial"), stored.assignedToId]).toEqual(["HIGH", true, conv.assignedToId]);
  });
});

describe("authorization and workspaces", () => {
  it("a VIEWER may not write conversations or messages (FORBIDDEN); an AGENT may not manage contacts", async () => {
    const conv = await freshConversation();
    for (const [query, vars] of [
      [STATUS, { id: conv.id, status: "CLOSED" }],
      [READ, { id: conv.id }],
      [ADD_LABELS, { id: conv.id, labels: ["x"] }],
      [RECEIVE, { input: { conversationId: conv.id, body: "x", externalId: "viewer-x" } }],
      [SEND, { input: { conversationId: conv.id, body: "x" } }],
    ] as const) {
      expect(errorOf(await t.gql(query, vars, { token: viewerToken })).extensions!.code).toBe("FORBIDDEN");
    }
    const create = `mutation { createContact(input: { firstName: "Eve" }) { id } }`;
    expect(errorOf(await t.gql(create, {}, { token: agentToken })).extensions!.code).toBe("FORBIDDEN");
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).toEqual(conv);
  });

  it("a conversation of another workspace behaves like a missing one", async () => {
    const otherId = (await seedOtherWorkspace()).conversationId;
    const before = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: otherId } });
    for (const [query, vars] of [
      [STATUS, { id: otherId, status: "ARCHIVED" }],
      [READ, { id: otherId }],
      [ADD_LABELS, { id: otherId, labels: ["x"] }],
      [RECEIVE, { input: { conversationId: otherId, body: "x", externalId: "cross-ws" } }],
    ] as const) {
      const error = errorOf(await t.gql(query, vars));
      expect(error.extensions!.code).toBe("NOT_FOUND");
      expect(error.message).toBe(`No conversation with id "${otherId}".`);
    }
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: otherId } })).toEqual(before);
  });
});

const CREATE_CONTACT = `mutation($input: CreateContactInput!) {
  createContact(input: $input) { id firstName lastName fullName phone email preferredChannel metadata status updatedAt } }`;
const UPDATE_CONTACT = `mutation($id: ID!, $input: UpdateContactInput!, $expected: DateTime) {
  updateContact(id: $id, input: $input, expectedUpdatedAt: $expected) { id firstName lastName fullName phone email metadata status updatedAt } }`;

describe("contacts", () => {
  it("keeps variables written inside a JSON literal (metadata: { plan: $plan })", async () => {
    const { createContact } = dataOf<{ createContact: { metadata: unknown } }>(
      await t.gql(`mutation($plan: String!, $seats: Int!) {
        createContact(input: { firstName: "Ada", metadata: { plan: $plan, seats: $seats, source: "import" } }) { metadata } }`, { plan: "pro", seats: 12 }),
    );
    expect(createContact.metadata).toEqual({ plan: "pro", seats: 12, source: "import" });
  });

  it("createContact validates E.164 phone and email and names the field at fault", async () => {
    const contacts = await t.db.prisma.contact.count();
    for (const [input, field] of [
      [{ firstName: "Eve", phone: "12345" }, "input.phone"],
      [{ firstName: "Eve", phone: "+351 912 345 678" }, "input.phone"],
      [{ firstName: "Eve", email: "not-an-email" }, "input.email"],
      [{ firstName: "  " }, "input.firstName"],
      [{ firstName: "Eve", preferredChannel: "FAX" }, "input.preferredChannel"],
    ] as const) {
      const error = errorOf(await t.gql(CREATE_CONTACT, { input }));
      expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
    const literal = errorOf(await t.gql(`mutation { createContact(input: { firstName: "Eve", phone: "555-1234" }) { id } }`));
    expect(literal.extensions!.code).toBe("BAD_USER_INPUT");
    expect(literal.message).toContain("555-1234");
    expect(await t.db.prisma.contact.count()).toBe(contacts);

    const { createContact: created } = dataOf(
      await t.gql(CREATE_CONTACT, {
        input: { firstName: " Eve ", lastName: "Moneypenny", phone: "+351912345678", email: "Eve@Example.com", metadata: { tier: "vip" } },
      }),
    );
    expect(created).toMatchObject({
      firstName: "Eve",
      fullName: "Eve Moneypenny",
      phone: "+351912345678",
      email: "eve@example.com",
      metadata: { tier: "vip" },
      status: "ACTIVE",
    });
    expect(created.id).toMatch(/^cnt_[0-9a-z]{16}$/);
    const found = dataOf(await t.gql(`query($id: ID!) { contact(id: $id) { id } }`, { id: created.id }));
    expect(found.contact).toEqual({ id: created.id });
  });

  it("limits names in characters: 100 emoji are a name, 101 are not", async () => {
    const { createContact: contact } = dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: "😀".repeat(100) } }));
    expect([...contact.firstName]).toHaveLength(100);
    const refused = errorOf(await t.gql(UPDATE_CONTACT, { id: contact.id, input: { lastName: "😀".repeat(101) } }));
    expect(refused.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.lastName" });
  });

  it("updateContact with the metadata it has, keys in another order, changes nothing (jsonb keeps no key order)", async () => {
    const { createContact: contact } = dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: "Ada", metadata: { tier: "gold", customer_id: 7, tags: ["a", "b"] } } }));
    const { updateContact: same } = dataOf(
      await t.gql(UPDATE_CONTACT, { id: contact.id, input: { metadata: { tags: ["a", "b"], customer_id: 7, tier: "gold" } }, expected: contact.updatedAt }),
    );
    expect(same.updatedAt).toBe(contact.updatedAt);
    // Written into the document, as GraphiQL users do: the JSON scalar builds those objects without a prototype.
    const literal = `mutation($id: ID!) { updateContact(id: $id, input: { metadata: { tags: ["a", "b"], customer_id: 7, tier: "gold" } }) { updatedAt } }`;
    expect(dataOf(await t.gql(literal, { id: contact.id })).updateContact.updatedAt).toBe(contact.updatedAt);
    const { updateContact: changed } = dataOf(await t.gql(UPDATE_CONTACT, { id: contact.id, input: { metadata: { tags: ["b", "a"], customer_id: 7, tier: "gold" } } }));
    expect(changed.updatedAt).not.toBe(contact.updatedAt);
  });

  it("updateContact changes given fields, clears with null, checks expectedUpdatedAt and the workspace", async () => {
    const { createContact: contact } = dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: "Tom", phone: "+4915112345678" } }));
    const { updateContact: updated } = dataOf(
      await t.gql(UPDATE_CONTACT, { id: contact.id, input: { lastName: "Bombadil", phone: null }, expected: contact.updatedAt }),
    );
    expect(updated).toMatchObject({ firstName: "Tom", lastName: "Bombadil", phone: null });
    expect(new Date(updated.updatedAt).getTime()).toBeGreaterThan(new Date(contact.updatedAt).getTime());

    const stale = errorOf(await t.gql(UPDATE_CONTACT, { id: contact.id, input: { firstName: "Tim" }, expected: contact.updatedAt }));
    expect(stale.extensions).toMatchObject({ code: "CONFLICT", field: "expectedUpdatedAt" });
    const noName = errorOf(await t.gql(UPDATE_CONTACT, { id: contact.id, input: { firstName: null } }));
    expect(noName.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.firstName" });
    const badEmail = errorOf(await t.gql(UPDATE_CONTACT, { id: contact.id, input: { email: "tom@" } }));
    expect(badEmail.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.email" });
    const same = dataOf(await t.gql(UPDATE_CONTACT, { id: contact.id, input: { lastName: "Bombadil" } })).updateContact;
    expect(same.updatedAt).toBe(updated.updatedAt);
    expect(errorOf(await t.gql(UPDATE_CONTACT, { id: "cnt_doesnotexist0000", input: { lastName: "x" } })).extensions!.code).toBe("NOT_FOUND");
    const other = await seedOtherWorkspace();
    const cross = errorOf(await t.gql(UPDATE_CONTACT, { id: other.contactId, input: { lastName: "x" } }));
    expect(cross).toMatchObject({ message: `No contact with id "${other.contactId}".`, extensions: { code: "NOT_FOUND" } });
  });

  it("createConversation needs a contact of the workspace, not a deleted one, and records CREATED", async () => {
    const contact = await t.db.prisma.contact.findFirstOrThrow({ where: { workspaceId: ws(), status: "ACTIVE" } });
    const agent = await agentOf("AGENT");
    const CREATE = `mutation($input: CreateConversationInput!) {
      createConversation(input: $input) { id contact { id } channel subject status priority labels tags messageCount unreadCount assignedTo { id }
        activity(first: 5) { totalCount edges { node { type actor { id } to } } } } }`;
    const { createConversation: created } = dataOf(
      await t.gql(CREATE, {
        input: { contactId: contact.id, channel: "SMS", subject: " Hello ", priority: "HIGH", labels: ["VIP"], assignedToId: agent.id },
      }),
    );
    expect(created).toMatchObject({
      contact: { id: contact.id },
      channel: "SMS",
      subject: "Hello",
      status: "OPEN",
      priority: "HIGH",
      labels: ["vip"],
      tags: [],
      messageCount: 0,
      unreadCount: 0,
      assignedTo: { id: agent.id },
    });
    expect(created.activity.totalCount).toBe(1);
    expect(created.activity.edges[0].node).toMatchObject({ type: "CREATED", actor: { id: (await agentOf("ADMIN")).id }, to: { channel: "SMS" } });

    const other = await seedOtherWorkspace();
    const conversations = await t.db.prisma.conversation.count();
    for (const contactId of [other.contactId, "cnt_doesnotexist0000"]) {
      const error = errorOf(await t.gql(CREATE, { input: { contactId, channel: "SMS" } }));
      expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.contactId" });
    }
    const deleted = await t.db.prisma.contact.create({ data: { id: "cnt_deletedcontact01", workspaceId: ws(), firstName: "Gone", status: "DELETED" } });
    const refused = errorOf(await t.gql(CREATE, { input: { contactId: deleted.id, channel: "SMS" } }));
    expect(refused).toMatchObject({ message: `Contact "${deleted.id}" is deleted: no new conversation may start with it.`, extensions: { code: "BAD_USER_INPUT", field: "input.contactId" } });
    const foreignAgent = errorOf(await t.gql(CREATE, { input: { contactId: contact.id, channel: "SMS", assignedToId: other.agentId } }));
    expect(foreignAgent.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.assignedToId" });
    expect(await t.db.prisma.conversation.count()).toBe(conversations);
  });
});

const BULK = `mutation($ids: [ID!]!, $status: ConversationStatus, $priority: ConversationPriority, $add: [String!], $remove: [String!], $assign: ID, $unassign: Boolean) {
  bulkUpdateConversations(ids: $ids, status: $status, priority: $priority, addLabels: $add, removeLabels: $remove, assignToId: $assign, unassign: $unassign) {
    updated { id status priority labels assignedTo { id } } errors { id code message } } }`;

describe("bulkUpdateConversations", () => {
  it("updates each conversation on its own and reports each failure with its own error", async () => {
    const a = await freshConversation({ status: "OPEN" });
    const b = await freshConversation({ status: "CLOSED" });
    const other = await seedOtherWorkspace();
    const otherBefore = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: other.conversationId } });
    const agent = await agentOf("AGENT");
    const before = { a: (await activities(a.id)).length, b: (await activities(b.id)).length };
    const { bulkUpdateConversations: result } = dataOf(
      await t.gql(BULK, {
        ids: [a.id, "conv_doesnotexist0000", b.id, other.conversationId, "garbage", a.id],
        status: "ARCHIVED",
        priority: "HIGH",
        add: ["Bulk"],
        assign: agent.id,
      }),
    );
    expect(result.updated.map((c: any) => c.id)).toEqual([a.id, b.id]);
    for (const c of result.updated) {
      expect(c).toMatchObject({ status: "ARCHIVED", priority: "HIGH", assignedTo: { id: agent.id } });
      expect(c.labels).toContain("bulk");
    }
    expect(result.errors).toEqual([
      { id: "conv_doesnotexist0000", code: "NOT_FOUND", message: 'No conversation with id "conv_doesnotexist0000".' },
      { id: other.conversationId, code: "NOT_FOUND", message: `No conversation with id "${other.conversationId}".` },
      { id: "garbage", code: "BAD_USER_INPUT", message: expect.any(String) },
    ]);
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: other.conversationId } })).toEqual(otherBefore);
    // One activity per real change: a's status, priority, labels and assignee (unless already so).
    const changes = (c: Conversation) =>
      Number(c.status !== "ARCHIVED") + Number(c.priority !== "HIGH") + Number(!c.labels.includes("bulk")) + Number(c.assignedToId !== agent.id);
    expect((await activities(a.id)).length - before.a).toBe(changes(a));
    expect((await activities(b.id)).length - before.b).toBe(changes(b));
  });

  it("a conversation whose change fails keeps every other change of its own unapplied", async () => {
    const full = await freshConversation();
    const twenty = Array.from({ length: 20 }, (_, i) => `f${i}`);
    await t.db.prisma.conversation.update({ where: { id: full.id }, data: { labels: twenty, status: "OPEN" } });
    const ok = await freshConversation({ status: "OPEN" });
    const { bulkUpdateConversations: result } = dataOf(await t.gql(BULK, { ids: [full.id, ok.id], status: "CLOSED", add: ["one-more"] }));
    expect(result.updated.map((c: any) => c.id)).toEqual([ok.id]);
    expect(result.errors).toEqual([{ id: full.id, code: "BAD_USER_INPUT", message: expect.stringContaining("at most 20") }]);
    const after = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: full.id } });
    expect(after.status).toBe("OPEN");
    expect(after.labels).toEqual(twenty);
  });

  it("changes assignments only when asked: assignToId null is not unassign", async () => {
    const agent = await agentOf("AGENT");
    const conv = await freshConversation({ status: "OPEN", assignedToId: agent.id });
    const { updated, errors } = dataOf(await t.gql(BULK, { ids: [conv.id], status: "CLOSED", assign: null })).bulkUpdateConversations;
    expect(errors).toEqual([]);
    expect(updated).toEqual([expect.objectContaining({ id: conv.id, status: "CLOSED", assignedTo: { id: agent.id } })]);
    const unassigned = dataOf(await t.gql(BULK, { ids: [conv.id], unassign: true })).bulkUpdateConversations.updated;
    expect(unassigned).toEqual([expect.objectContaining({ assignedTo: null })]);
  });

  it("takes at most 100 ids and validates its arguments up front", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `conv_${String(i).padStart(16, "0")}`);
    expect(errorOf(await t.gql(BULK, { ids, status: "CLOSED" })).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "ids" });
    const conv = await freshConversation();
    expect(errorOf(await t.gql(BULK, { ids: [conv.id], add: ["bad/label"] })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "addLabels",
    });
    expect(errorOf(await t.gql(BULK, { ids: [conv.id] })).extensions!.code).toBe("BAD_USER_INPUT");
    // More labels than a conversation can hold would fail on every conversation: one error for the request.
    const tooMany = Array.from({ length: 21 }, (_, i) => `label-${i}`);
    expect(errorOf(await t.gql(BULK, { ids: [conv.id, (await freshConversation()).id], add: tooMany })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "addLabels",
    });
    const agent = await agentOf("AGENT");
    expect(errorOf(await t.gql(BULK, { ids: [conv.id], assign: agent.id, unassign: true })).extensions).toMatchObject({ field: "unassign" });
    // A label both added and removed would be two activities for no change.
    expect(errorOf(await t.gql(BULK, { ids: [conv.id], add: ["vip", "Billing "], remove: ["billing"] }))).toMatchObject({
      message: "A label cannot be both added and removed: billing.",
      extensions: { code: "BAD_USER_INPUT", field: "removeLabels" },
    });
    // An agent who cannot be assigned is one error for the request, not one per conversation.
    const second = await freshConversation();
    for (const assign of [(await agentOf("AGENT", false)).id, "cnt_0123456789abcdef"]) {
      const refused = await t.gql(BULK, { ids: [conv.id, second.id], status: "CLOSED", assign });
      expect(refused.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "BAD_USER_INPUT", field: "assignToId" }) })]);
    }
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).toEqual(conv);
    expect(errorOf(await t.gql(BULK, { ids: [conv.id], status: "CLOSED" }, { token: viewerToken })).extensions!.code).toBe("FORBIDDEN");
  });
});

describe("a failure midway", () => {
  // A trigger makes the activity insert fail for one marked conversation, after the mutation has
  // already updated the row (and inserted a message): everything must roll back.
  async function snapshot() {
    const [conversations, messages, activity, contacts] = await Promise.all([
      t.db.prisma.conversation.findMany({ orderBy: { id: "asc" } }),
      t.db.prisma.message.findMany({ orderBy: { id: "asc" } }),
      t.db.prisma.conversationActivity.findMany({ orderBy: { id: "asc" } }),
      t.db.prisma.contact.findMany({ orderBy: { id: "asc" } }),
    ]);
    return { conversations, messages, activity, contacts };
  }

  it("leaves the database exactly as before, and the client sees a masked error", async () => {
    const conv = await freshConversation({ status: "OPEN", unreadCount: { gt: 0 } });
    await withFailingActivityInsert(t.db, conv.id, async () => {
      const before = await snapshot();
      const agent = await agentOf("AGENT");
      for (const [query, vars] of [
        [STATUS, { id: conv.id, status: "CLOSED" }],
        [ADD_LABELS, { id: conv.id, labels: ["doomed"] }],
        [ASSIGN, { id: conv.id, agentId: conv.assignedToId === agent.id ? null : agent.id }],
        [READ, { id: conv.id }],
        [RECEIVE, { input: { conversationId: conv.id, body: "lost", externalId: `doomed-${conv.id}` } }],
        [SEND, { input: { conversationId: conv.id, body: "lost" } }],
      ] as const) {
        const error = errorOf(await t.gql(query, vars));
        expect(error).toMatchObject({ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
        expect(JSON.stringify(error)).not.toMatch(/refused|ConversationActivity|INSERT/);
      }
      const bulk = dataOf(await t.gql(BULK, { ids: [conv.id], status: "ARCHIVED", add: ["doomed"] })).bulkUpdateConversations;
      expect(bulk.errors).toEqual([{ id: conv.id, code: "INTERNAL_SERVER_ERROR", message: "Unexpected error." }]);
      expect(await snapshot()).toEqual(before);
    });
    // The same mutation works once the fault is gone.
    expect(dataOf(await t.gql(STATUS, { id: conv.id, status: "CLOSED" })).updateConversationStatus.status).toBe("CLOSED");
  });
});

/** A second workspace (seeded once per file): its records must behave like missing ones. */
let otherWorkspace: Promise<{ conversationId: string; contactId: string; agentId: string }> | undefined;
function seedOtherWorkspace() {
  otherWorkspace ??= (async () => {
    const seeded = await seedDemoData(t.db.prisma, { contacts: 3, conversations: 4, seed: 99, workspaceName: "Other" });
    const conv = await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: seeded.workspaceId } });
    const agent = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seeded.workspaceId, role: "AGENT", active: true } });
    return { conversationId: conv.id, contactId: conv.contactId, agentId: agent.id };
  })();
  return otherWorkspace;
}
