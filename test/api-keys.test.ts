import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, startTestGateway, type TestGateway } from "./helpers.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 5, conversations: 6 } });
});
afterAll(() => t?.close());

const CREATE = `mutation($name: String!, $role: AgentRole) {
  createApiKey(name: $name, role: $role) { secret apiKey { id name role prefix createdAt revokedAt createdBy { id } } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const LIST = `{ apiKeys { id name role prefix revokedAt } }`;
const RECEIVE = `mutation($input: ReceiveMessageInput!) { receiveMessage(input: $input) { id direction sender { id } conversation { id unreadCount } } }`;

/** A request carrying an API key, either as a bearer credential or in x-api-key. */
async function withKey(key: string, how: "bearer" | "header", query: string, variables: Record<string, unknown> = {}) {
  const res = await t.gateway.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(how === "bearer" ? { authorization: `Bearer ${key}` } : { "x-api-key": key }) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string; extensions?: any }[] }) };
}

async function createKey(name: string, role?: string) {
  return dataOf<any>(await t.gql(CREATE, { name, role })).createApiKey as { secret: string; apiKey: { id: string; role: string; prefix: string } };
}

const conversationId = async () =>
  (await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId }, orderBy: { id: "asc" } })).id;

describe("API keys", () => {
  it("an admin creates a key: the secret is shown once, only its hash is stored, and lists never show it", async () => {
    const admin = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, role: "ADMIN" }, orderBy: { createdAt: "asc" } });
    const { secret, apiKey } = await createKey("  WhatsApp bridge  ");
    expect(secret).toMatch(/^igk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: "WhatsApp bridge", role: "AGENT", prefix: secret.slice(0, 10), revokedAt: null, createdBy: { id: admin.id } });
    expect(apiKey.id).toMatch(/^key_[0-9a-z]{16}$/);

    const row = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.secretHash).toBe(createHash("sha256").update(secret).digest("hex"));

    const listed = dataOf<any>(await t.gql(LIST)).apiKeys;
    expect(listed.map((k: { id: string }) => k.id)).toContain(apiKey.id);
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it("an integration delivers a message with its key, as a bearer credential or in x-api-key; it acts for no agent", async () => {
    const { secret } = await createKey("SMS gateway");
    const id = await conversationId();
    for (const how of ["bearer", "header"] as const) {
      const res = await withKey(secret, how, RECEIVE, { input: { conversationId: id, body: `Hello over ${how}`, externalId: `ext-${how}-${secret.slice(4, 12)}` } });
      expect(res.errors).toBeUndefined();
      expect(res.data.receiveMessage).toMatchObject({ direction: "INBOUND", sender: null, conversation: { id } });
    }
    const viewer = await withKey(secret, "header", `{ viewer { id } conversations(first: 1) { totalCount } }`);
    expect(viewer.data.viewer).toBeNull();
    expect(viewer.data.conversations.totalCount).toBe(6);
    const activity = await t.db.prisma.conversationActivity.findFirstOrThrow({ where: { conversationId: id, type: "MESSAGE_RECEIVED" }, orderBy: { createdAt: "desc" } });
    expect(activity.actorId).toBeNull();
  });

  it("an integration's reply (a bot's) has no sender, and leaves the unread count alone", async () => {
    const { secret } = await createKey("Auto-reply bot");
    const id = await conversationId();
    const before = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id } });
    const res = await withKey(secret, "header", `mutation($input: SendMessageInput!) { sendMessage(input: $input) { direction sender { id } conversation { messageCount unreadCount } } }`, {
      input: { conversationId: id, body: "Thanks, we'll be right with you." },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.sendMessage).toEqual({ direction: "OUTBOUND", sender: null, conversation: { messageCount: before.messageCount + 1, unreadCount: before.unreadCount } });
  });

  it("a revoked key is refused at once; revoking again keeps the first time", async () => {
    const { secret, apiKey } = await createKey("Old bridge");
    expect((await withKey(secret, "bearer", `{ agents { id } }`)).status).toBe(200);
    const revoked = dataOf<any>(await t.gql(REVOKE, { id: apiKey.id })).revokeApiKey;
    expect(revoked.revokedAt).toBeTruthy();
    for (const how of ["bearer", "header"] as const) {
      const res = await withKey(secret, how, `{ agents { id } }`);
      expect(res.status).toBe(401);
      expect(res.errors![0]).toMatchObject({ message: "The API key has been revoked.", extensions: { code: "UNAUTHENTICATED" } });
    }
    const again = dataOf<any>(await t.gql(REVOKE, { id: apiKey.id })).revokeApiKey;
    expect(again.revokedAt).toBe(revoked.revokedAt);
  });

  it("an unknown or altered key is refused", async () => {
    const { secret } = await createKey("Real");
    const altered = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    for (const key of [altered, "igk_nope", "igk_"]) {
      const res = await withKey(key, "header", `{ agents { id } }`);
      expect(res.status).toBe(401);
      expect(res.errors![0].extensions.code).toBe("UNAUTHENTICATED");
    }
  });

  it("a key can do what its role may: a VIEWER key reads but may not deliver messages", async () => {
    const { secret } = await createKey("Dashboard", "VIEWER");
    expect((await withKey(secret, "bearer", `{ conversationCounts { open } }`)).errors).toBeUndefined();
    const res = await withKey(secret, "bearer", RECEIVE, { input: { conversationId: await conversationId(), body: "x", externalId: "viewer-key-1" } });
    expect(res.errors![0].extensions.code).toBe("FORBIDDEN");
  });

  it("names are checked and unknown ids are NOT_FOUND", async () => {
    for (const name of ["", "   ", "x".repeat(101)]) {
      expect((await t.gql(CREATE, { name })).errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "name" });
    }
    expect((await t.gql(REVOKE, { id: "key_0000000000000000" })).errors![0].extensions!.code).toBe("NOT_FOUND");
    expect((await t.gql(REVOKE, { id: "conv_0000000000000000" })).errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
  });
});
