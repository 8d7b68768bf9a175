import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../src/domain/api-keys.js";
import { newId } from "../src/domain/ids.js";
import { seedDemoData } from "../src/db/seed.js";
import { schema } from "../src/graphql/schema.js";
import { createLogger } from "../src/logger.js";
import { createInProcessEventBus } from "../src/realtime/pubsub.js";
import { dataOf, startTestGateway, type GraphQLResponse, type TestGateway } from "./helpers.js";

// Workspace A (the caller's, an ADMIN so no role stands in the way) and workspace B next to it.
// Every root field is called with B's ids and with ids that exist nowhere: the two answers must be
// the same once the ids are named alike, and B's rows must not change.
let t: TestGateway;
let a: string;
let b: string;
/** Records of B, by kind. */
const other = {} as Ids;

interface Ids {
  conversation: string;
  contact: string;
  agent: string;
  apiKey: string;
  message: string;
  activity: string;
  /** An externalId of a message delivered in B. */
  externalId: string;
  /** A label only B uses. */
  label: string;
  /** A contact email only B has. */
  email: string;
}

beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 8, conversations: 12 } });
  a = t.seed!.workspaceId;
  const seededB = await seedDemoData(t.db.prisma, { seed: 4242, workspaceName: "Other Co", contacts: 6, conversations: 10 });
  b = seededB.workspaceId;
  const prisma = t.db.prisma;
  const conversation = await prisma.conversation.findUniqueOrThrow({ where: { id: seededB.demoConversationId } });
  const labelled = await prisma.conversation.update({ where: { id: conversation.id }, data: { labels: { push: "b-only-label" } } });
  const agent = await prisma.agent.findFirstOrThrow({ where: { workspaceId: b, role: "AGENT", active: true }, orderBy: { id: "asc" } });
  const admin = await prisma.agent.findFirstOrThrow({ where: { workspaceId: b, role: "ADMIN" } });
  const contact = await prisma.contact.update({ where: { id: conversation.contactId }, data: { email: "only-in-b@example.test" } });
  const delivered = await prisma.message.findFirstOrThrow({ where: { workspaceId: b, externalId: { not: null } } });
  // Seeds derive externalIds from their position, so both workspaces have "demo-0-0": make B's own.
  const message = await prisma.message.update({ where: { id: delivered.id }, data: { externalId: "only-in-b-delivery" } });
  const deps = { prisma, events: createInProcessEventBus(createLogger("silent")) };
  const { apiKey } = await createApiKey(deps, { agentId: admin.id, workspaceId: b }, { name: "B's bridge" });
  Object.assign(other, {
    conversation: labelled.id,
    contact: contact.id,
    agent: agent.id,
    apiKey: apiKey.id,
    message: message.id,
    activity: (await prisma.conversationActivity.findFirstOrThrow({ where: { workspaceId: b } })).id,
    externalId: message.externalId!,
    label: "b-only-label",
    email: contact.email!,
  } satisfies Ids);
});
afterAll(() => t?.close());

/** Ids of the same kinds that exist in no workspace. */
const missing = (): Ids => ({
  conversation: newId("conversation"),
  contact: newId("contact"),
  agent: newId("agent"),
  apiKey: newId("apiKey"),
  message: newId("message"),
  activity: newId("activity"),
  externalId: `missing-${newId("message")}`,
  label: "no-such-label",
  email: "nobody@example.test",
});

/** Every row of workspace B, to show that nothing in it changed. */
async function rowsOfB() {
  const where = { workspaceId: b };
  const orderBy = { id: "asc" } as const;
  const p = t.db.prisma;
  return JSON.stringify(
    await Promise.all([
      p.workspace.findUnique({ where: { id: b } }),
      p.agent.findMany({ where, orderBy }),
      p.contact.findMany({ where, orderBy }),
      p.conversation.findMany({ where, orderBy }),
      p.message.findMany({ where, orderBy }),
      p.conversationActivity.findMany({ where, orderBy }),
      p.apiKey.findMany({ where, orderBy }),
    ]),
  );
}

/** A response with each id replaced by its kind's name, so B's answer and the missing answer compare. */
function named(response: GraphQLResponse<unknown>, ids: Ids) {
  let text = JSON.stringify({ data: response.data, errors: response.errors });
  for (const [kind, id] of Object.entries(ids)) text = text.split(id).join(`<${kind}>`);
  return JSON.parse(text);
}

interface Case {
  query: string;
  variables: (ids: Ids) => Record<string, unknown>;
  /** What both answers must show, so equal answers cannot both be wrong the same way (a refused token, say). */
  expected: (response: GraphQLResponse<any>) => void;
}

const notFound = (response: GraphQLResponse<any>) => {
  expect(response.errors?.map((e) => e.extensions?.code)).toEqual(["NOT_FOUND"]);
};
const badAgent = (response: GraphQLResponse<any>) => {
  expect(response.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: expect.stringMatching(/agentId|assignedToId|assignToId/) } });
};
const conversationId = async () => (await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: a, status: "OPEN" }, orderBy: { id: "asc" } })).id;

/** One case (or several) per root field; the test below fails for a field without one. */
const cases: Record<string, Case[]> = {
  "Query.node": [
    { query: `query($id: ID!) { node(id: $id) { id } }`, variables: (i) => ({ id: i.conversation }), expected: (r) => expect(dataOf<any>(r).node).toBeNull() },
    { query: `query($id: ID!) { node(id: $id) { id } }`, variables: (i) => ({ id: i.contact }), expected: (r) => expect(dataOf<any>(r).node).toBeNull() },
    { query: `query($id: ID!) { node(id: $id) { id } }`, variables: (i) => ({ id: i.agent }), expected: (r) => expect(dataOf<any>(r).node).toBeNull() },
    { query: `query($id: ID!) { node(id: $id) { id } }`, variables: (i) => ({ id: i.apiKey }), expected: (r) => expect(dataOf<any>(r).node).toBeNull() },
    { query: `query($id: ID!) { node(id: $id) { id } }`, variables: (i) => ({ id: i.message }), expected: (r) => expect(dataOf<any>(r).node).toBeNull() },
    { query: `query($id: ID!) { node(id: $id) { id } }`, variables: (i) => ({ id: i.activity }), expected: (r) => expect(dataOf<any>(r).node).toBeNull() },
  ],
  "Query.nodes": [
    {
      query: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      variables: (i) => ({ ids: [i.conversation, i.contact, i.agent, i.apiKey, i.message, i.activity] }),
      expected: (r) => expect(dataOf<any>(r).nodes).toEqual([null, null, null, null, null, null]),
    },
  ],
  "Query.conversation": [
    { query: `query($id: ID!) { conversation(id: $id) { id } }`, variables: (i) => ({ id: i.conversation }), expected: (r) => expect(dataOf<any>(r).conversation).toBeNull() },
  ],
  "Query.contact": [
    { query: `query($id: ID!) { contact(id: $id) { id } }`, variables: (i) => ({ id: i.contact }), expected: (r) => expect(dataOf<any>(r).contact).toBeNull() },
  ],
  "Query.conversations": [
    {
      query: `query($f: ConversationFilter) { conversations(filter: $f) { totalCount edges { node { id } } } }`,
      variables: (i) => ({ f: { contactId: i.contact } }),
      expected: (r) => expect(dataOf<any>(r).conversations).toEqual({ totalCount: 0, edges: [] }),
    },
    {
      query: `query($f: ConversationFilter) { conversations(filter: $f) { totalCount edges { node { id } } } }`,
      variables: (i) => ({ f: { assignedToId: i.agent } }),
      expected: (r) => expect(dataOf<any>(r).conversations.totalCount).toBe(0),
    },
    {
      query: `query($f: ConversationFilter) { conversations(filter: $f) { totalCount } }`,
      variables: (i) => ({ f: { labels: [i.label] } }),
      expected: (r) => expect(dataOf<any>(r).conversations.totalCount).toBe(0),
    },
    {
      query: `query($f: ConversationFilter) { conversations(filter: $f) { totalCount } }`,
      variables: (i) => ({ f: { search: i.email } }),
      expected: (r) => expect(dataOf<any>(r).conversations.totalCount).toBe(0),
    },
  ],
  "Query.conversationCounts": [
    {
      query: `query($f: ConversationFilter) { conversationCounts(filter: $f) { total open closed archived unassigned withUnread unreadMessages } }`,
      variables: (i) => ({ f: { contactId: i.contact } }),
      expected: (r) => expect(Object.values(dataOf<any>(r).conversationCounts).every((n) => n === 0)).toBe(true),
    },
    {
      query: `query($f: ConversationFilter) { conversationCounts(filter: $f) { total } }`,
      variables: (i) => ({ f: { assignedToId: i.agent } }),
      expected: (r) => expect(dataOf<any>(r).conversationCounts.total).toBe(0),
    },
  ],
  "Query.contacts": [
    {
      query: `query($s: String) { contacts(filter: { search: $s }) { totalCount edges { node { id } } } }`,
      variables: (i) => ({ s: i.email }),
      expected: (r) => expect(dataOf<any>(r).contacts).toEqual({ totalCount: 0, edges: [] }),
    },
  ],
  // Root fields without id arguments: their answers are compared with A's own rows below.
  "Query.agents": [],
  "Query.labels": [],
  "Query.apiKeys": [],
  "Query.viewer": [],
  "Mutation.updateConversationStatus": [
    { query: `mutation($id: ID!) { updateConversationStatus(id: $id, status: CLOSED) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.updateConversationPriority": [
    { query: `mutation($id: ID!) { updateConversationPriority(id: $id, priority: HIGH) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.addConversationLabels": [
    { query: `mutation($id: ID!) { addConversationLabels(id: $id, labels: ["x"]) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.removeConversationLabels": [
    { query: `mutation($id: ID!, $l: String!) { removeConversationLabels(id: $id, labels: [$l]) { id } }`, variables: (i) => ({ id: i.conversation, l: i.label }), expected: notFound },
  ],
  "Mutation.setConversationLabels": [
    { query: `mutation($id: ID!) { setConversationLabels(id: $id, labels: []) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.setConversationTags": [
    { query: `mutation($id: ID!) { setConversationTags(id: $id, tags: ["x"]) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.assignConversation": [
    { query: `mutation($id: ID!) { assignConversation(id: $id, agentId: null) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
    {
      query: `mutation($id: ID!, $agent: ID) { assignConversation(id: $id, agentId: $agent) { id } }`,
      variables: (i) => ({ id: OWN.conversation, agent: i.agent }),
      expected: badAgent,
    },
  ],
  "Mutation.markConversationRead": [
    { query: `mutation($id: ID!) { markConversationRead(id: $id) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.bulkUpdateConversations": [
    {
      query: `mutation($ids: [ID!]!) { bulkUpdateConversations(ids: $ids, status: ARCHIVED, addLabels: ["bulk"]) { updated { id } errors { id code message } } }`,
      variables: (i) => ({ ids: [i.conversation] }),
      expected: (r) => expect(dataOf<any>(r).bulkUpdateConversations).toMatchObject({ updated: [], errors: [{ code: "NOT_FOUND" }] }),
    },
    {
      query: `mutation($ids: [ID!]!, $agent: ID) { bulkUpdateConversations(ids: $ids, assignToId: $agent) { updated { id } errors { id code message } } }`,
      variables: (i) => ({ ids: [OWN.conversation], agent: i.agent }),
      expected: (r) => expect(r.errors?.[0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "assignToId" }),
    },
  ],
  "Mutation.updateContact": [
    { query: `mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Mallory" }) { id } }`, variables: (i) => ({ id: i.contact }), expected: notFound },
  ],
  "Mutation.createConversation": [
    {
      query: `mutation($contact: ID!) { createConversation(input: { contactId: $contact, channel: SMS }) { id } }`,
      variables: (i) => ({ contact: i.contact }),
      expected: (r) => expect(r.errors?.[0].extensions).toMatchObject({ code: expect.stringMatching(/NOT_FOUND|BAD_USER_INPUT/) }),
    },
    {
      query: `mutation($contact: ID!, $agent: ID) { createConversation(input: { contactId: $contact, channel: SMS, assignedToId: $agent }) { id } }`,
      variables: (i) => ({ contact: OWN.contact, agent: i.agent }),
      expected: badAgent,
    },
  ],
  "Mutation.receiveMessage": [
    {
      query: `mutation($id: ID!, $ext: String!) { receiveMessage(input: { conversationId: $id, body: "hi", externalId: $ext }) { id } }`,
      variables: (i) => ({ id: i.conversation, ext: i.externalId }),
      expected: notFound,
    },
  ],
  "Mutation.sendMessage": [
    { query: `mutation($id: ID!) { sendMessage(input: { conversationId: $id, body: "hi" }) { id } }`, variables: (i) => ({ id: i.conversation }), expected: notFound },
  ],
  "Mutation.revokeApiKey": [
    { query: `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, variables: (i) => ({ id: i.apiKey }), expected: notFound },
  ],
  // Mutations that take no id of an existing record: they create in A only (checked below).
  "Mutation.createContact": [],
  "Mutation.createApiKey": [],
  // Live feeds stream over SSE or WebSocket: subscriptions.test.ts ("workspaces") shows another
  // workspace's subscriber receiving nothing, and foreign conversation and agent ids behaving like
  // missing ones on all three feeds.
  "Subscription.conversationEvents": [],
  "Subscription.unreadCountChanged": [],
  "Subscription.unreadTotals": [],
};

/** Records of A that cases pair with B's ids (assign A's conversation to B's agent, …). */
const OWN = {} as { conversation: string; contact: string };

function rootFields(): string[] {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]
    .filter((type) => type != null)
    .flatMap((type) => Object.keys(type.getFields()).map((field) => `${type.name}.${field}`))
    .sort();
}

describe("workspace isolation", () => {
  it("has a case for every root field of the schema", () => {
    expect(Object.keys(cases).sort()).toEqual(rootFields());
  });

  it("every root field treats another workspace's ids exactly like missing ids, and nothing in B changes", async () => {
    OWN.conversation = await conversationId();
    OWN.contact = (await t.db.prisma.contact.findFirstOrThrow({ where: { workspaceId: a, status: "ACTIVE" }, orderBy: { id: "asc" } })).id;
    const before = await rowsOfB();
    for (const [field, fieldCases] of Object.entries(cases)) {
      for (const c of fieldCases) {
        const absent = missing();
        const fromB = await t.gql(c.query, c.variables(other));
        const fromNowhere = await t.gql(c.query, c.variables(absent));
        c.expected(fromB);
        expect(named(fromB, other), `${field}: ${c.query}`).toEqual(named(fromNowhere, absent));
      }
    }
    expect(await rowsOfB()).toBe(before);
  });

  it("lists and counts without filters hold only A's records", async () => {
    const res = dataOf<any>(
      await t.gql(`{ conversations(first: 100) { totalCount edges { node { id } } } conversationCounts { total }
        contacts(first: 100) { totalCount edges { node { id } } } agents { id } labels { name conversationCount } apiKeys { id } viewer { id } }`),
    );
    const p = t.db.prisma;
    const ids = async (rows: Promise<{ id: string }[]>) => (await rows).map((r) => r.id).sort();
    const own = { workspaceId: a };
    expect(res.conversations.edges.map((e: any) => e.node.id).sort()).toEqual(await ids(p.conversation.findMany({ where: own })));
    expect(res.conversations.totalCount).toBe(await p.conversation.count({ where: own }));
    expect(res.conversationCounts.total).toBe(await p.conversation.count({ where: own }));
    expect(res.contacts.edges.map((e: any) => e.node.id).sort()).toEqual(await ids(p.contact.findMany({ where: own })));
    expect(res.agents.map((x: any) => x.id).sort()).toEqual(await ids(p.agent.findMany({ where: own })));
    expect(res.apiKeys.map((x: any) => x.id).sort()).toEqual(await ids(p.apiKey.findMany({ where: own })));
    expect(res.labels.map((l: any) => l.name)).not.toContain(other.label);
    for (const label of res.labels) {
      expect(label.conversationCount).toBe(await p.conversation.count({ where: { ...own, labels: { has: label.name } } }));
    }
    // A token naming B's agent but A's workspace (signed by our own key) is refused outright.
    const crossed = await t.gql(`{ viewer { id } }`, {}, { token: t.tokenFor({ agentId: other.agent, workspaceId: a, role: "ADMIN" }) });
    expect(crossed.status).toBe(401);
    expect(crossed.errors).toEqual([{ message: "The token's agent is not an agent of its workspace.", extensions: { code: "UNAUTHENTICATED" } }]);
  });

  it("creating contacts and API keys writes to A only; A's keys never reach B", async () => {
    const before = await rowsOfB();
    const contact = dataOf<any>(await t.gql(`mutation($e: EmailAddress) { createContact(input: { firstName: "Eve", email: $e }) { id } }`, { e: other.email })).createContact;
    expect((await t.db.prisma.contact.findUniqueOrThrow({ where: { id: contact.id } })).workspaceId).toBe(a);
    const { createApiKey: created } = dataOf<any>(await t.gql(`mutation { createApiKey(name: "A's bridge") { secret apiKey { id } } }`));
    expect((await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } })).workspaceId).toBe(a);

    // With A's key, B's conversation is as missing as ever, and B's externalId is free to use in A.
    const withKey = (query: string, variables: Record<string, unknown>) =>
      t.gateway
        .fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", "x-api-key": created.secret }, body: JSON.stringify({ query, variables }) })
        .then((r) => r.json() as Promise<GraphQLResponse<any>>);
    const receive = `mutation($id: ID!, $ext: String!) { receiveMessage(input: { conversationId: $id, body: "hello", externalId: $ext }) { id conversation { id } } }`;
    notFound(await withKey(receive, { id: other.conversation, ext: "fresh-ext-1" }));
    const delivered = dataOf<any>(await withKey(receive, { id: OWN.conversation, ext: other.externalId })).receiveMessage;
    expect(delivered.conversation.id).toBe(OWN.conversation);
    expect((await t.db.prisma.message.findUniqueOrThrow({ where: { id: delivered.id } })).workspaceId).toBe(a);
    expect(await rowsOfB()).toBe(before);
  });
});
