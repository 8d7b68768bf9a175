import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentRole } from "../src/generated/prisma/enums.js";
import { schema } from "../src/graphql/schema.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

// Each Mutation field × each role: the role that may use it succeeds, a lower one gets FORBIDDEN
// and changes nothing. The table is checked against the schema, so a new field needs a row.
let t: TestGateway;
const tokens = {} as Record<AgentRole, string>;
let conversationId: string;
let contactId: string;
let assigneeId: string;

beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 4, conversations: 6 } });
  for (const role of ["VIEWER", "AGENT", "ADMIN"] as const) tokens[role] = await t.token(role);
  const ws = t.seed!.workspaceId;
  conversationId = (await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: ws }, orderBy: { id: "asc" } })).id;
  contactId = (await t.db.prisma.contact.findFirstOrThrow({ where: { workspaceId: ws, status: "ACTIVE" }, orderBy: { id: "asc" } })).id;
  assigneeId = (await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: ws, role: "AGENT", active: true }, orderBy: { id: "asc" } })).id;
});
afterAll(() => t?.close());

const RANK: Record<AgentRole, number> = { VIEWER: 0, AGENT: 1, ADMIN: 2 };
let calls = 0;

interface Row {
  minimum: AgentRole;
  /** A valid call, made fresh for each attempt (unique externalIds, a key to revoke, …). */
  call: () => Promise<{ query: string; variables?: Record<string, unknown> }> | { query: string; variables?: Record<string, unknown> };
}

const MUTATIONS: Record<string, Row> = {
  updateConversationStatus: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { updateConversationStatus(id: $id, status: CLOSED) { id } }`, variables: { id: conversationId } }) },
  updateConversationPriority: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { updateConversationPriority(id: $id, priority: HIGH) { id } }`, variables: { id: conversationId } }) },
  addConversationLabels: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { addConversationLabels(id: $id, labels: ["matrix"]) { id } }`, variables: { id: conversationId } }) },
  removeConversationLabels: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { removeConversationLabels(id: $id, labels: ["matrix"]) { id } }`, variables: { id: conversationId } }) },
  setConversationLabels: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { setConversationLabels(id: $id, labels: ["vip"]) { id } }`, variables: { id: conversationId } }) },
  setConversationTags: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { setConversationTags(id: $id, tags: ["t1"]) { id } }`, variables: { id: conversationId } }) },
  assignConversation: {
    minimum: "AGENT",
    call: () => ({ query: `mutation($id: ID!, $a: ID) { assignConversation(id: $id, agentId: $a) { id } }`, variables: { id: conversationId, a: assigneeId } }),
  },
  markConversationRead: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { markConversationRead(id: $id) { id } }`, variables: { id: conversationId } }) },
  bulkUpdateConversations: {
    minimum: "AGENT",
    call: () => ({ query: `mutation($ids: [ID!]!) { bulkUpdateConversations(ids: $ids, priority: LOW) { updated { id } errors { code } } }`, variables: { ids: [conversationId] } }),
  },
  createConversation: {
    minimum: "AGENT",
    call: () => ({ query: `mutation($c: ID!) { createConversation(input: { contactId: $c, channel: SMS }) { id } }`, variables: { c: contactId } }),
  },
  receiveMessage: {
    minimum: "AGENT",
    call: () => ({
      query: `mutation($id: ID!, $ext: String!) { receiveMessage(input: { conversationId: $id, body: "hi", externalId: $ext }) { id } }`,
      variables: { id: conversationId, ext: `matrix-${++calls}` },
    }),
  },
  sendMessage: { minimum: "AGENT", call: () => ({ query: `mutation($id: ID!) { sendMessage(input: { conversationId: $id, body: "hello" }) { id } }`, variables: { id: conversationId } }) },
  createContact: { minimum: "ADMIN", call: () => ({ query: `mutation { createContact(input: { firstName: "Matrix" }) { id } }` }) },
  updateContact: { minimum: "ADMIN", call: () => ({ query: `mutation($id: ID!) { updateContact(id: $id, input: { lastName: "Role" }) { id } }`, variables: { id: contactId } }) },
  createApiKey: { minimum: "ADMIN", call: () => ({ query: `mutation { createApiKey(name: "matrix") { secret } }` }) },
  revokeApiKey: {
    minimum: "ADMIN",
    call: async () => ({ query: `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, variables: { id: await freshKeyId() } }),
  },
};

async function freshKeyId(): Promise<string> {
  const res = await t.gql<any>(`mutation { createApiKey(name: "to revoke") { apiKey { id } } }`, {}, { token: tokens.ADMIN });
  return res.data.createApiKey.apiKey.id;
}

/** Every row of the workspace, to show a refused call changed nothing. */
async function rows() {
  const where = { workspaceId: t.seed!.workspaceId };
  const orderBy = { id: "asc" } as const;
  const p = t.db.prisma;
  return JSON.stringify(
    await Promise.all([
      p.contact.findMany({ where, orderBy }),
      p.conversation.findMany({ where, orderBy }),
      p.message.findMany({ where, orderBy }),
      p.conversationActivity.findMany({ where, orderBy }),
      p.apiKey.findMany({ where, orderBy }),
    ]),
  );
}

describe("roles", () => {
  it("the table names every Mutation field", () => {
    expect(Object.keys(MUTATIONS).sort()).toEqual(Object.keys(schema.getMutationType()!.getFields()).sort());
  });

  for (const [field, row] of Object.entries(MUTATIONS)) {
    for (const role of ["VIEWER", "AGENT", "ADMIN"] as const) {
      const allowed = RANK[role] >= RANK[row.minimum];
      it(`${field} as ${role}: ${allowed ? "allowed" : "FORBIDDEN"}`, async () => {
        const { query, variables } = await row.call();
        const before = allowed ? null : await rows();
        const res = await t.gql(query, variables, { token: tokens[role] });
        if (allowed) {
          expect(res.errors).toBeUndefined();
          expect(res.data).toHaveProperty(field);
        } else {
          expect(res.data).toEqual({ [field]: null });
          expect(res.errors).toHaveLength(1);
          expect(res.errors![0]).toMatchObject({
            message: `Your role (${role}) may not use Mutation.${field}.`,
            path: [field],
            extensions: { code: "FORBIDDEN" },
          });
          expect(await rows()).toBe(before);
        }
      });
    }
  }

  it("every role reads every Query field except apiKeys, which is for admins", async () => {
    const reads: Record<string, string> = {
      node: `node(id: "conv_0000000000000000") { id }`,
      nodes: `nodes(ids: []) { id }`,
      viewer: `viewer { id }`,
      conversation: `conversation(id: "conv_0000000000000000") { id }`,
      contact: `contact(id: "cnt_0000000000000000") { id }`,
      conversations: `conversations(first: 1) { totalCount }`,
      conversationCounts: `conversationCounts { total }`,
      contacts: `contacts(first: 1) { totalCount }`,
      agents: `agents { id }`,
      labels: `labels { name }`,
      apiKeys: `apiKeys { id }`,
    };
    expect(Object.keys(reads).sort()).toEqual(Object.keys(schema.getQueryType()!.getFields()).sort());
    for (const role of ["VIEWER", "AGENT", "ADMIN"] as const) {
      for (const [field, selection] of Object.entries(reads)) {
        const res = await t.gql(`{ ${selection} }`, {}, { token: tokens[role] });
        if (field === "apiKeys" && role !== "ADMIN") expect(res.errors![0].extensions!.code, `${field} as ${role}`).toBe("FORBIDDEN");
        else expect(res.errors, `${field} as ${role}`).toBeUndefined();
      }
    }
  });
});
