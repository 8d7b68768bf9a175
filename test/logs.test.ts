import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../src/db/seed.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { createLogger } from "../src/logger.js";
import { signAgentToken } from "../src/auth/tokens.js";
import { freshDatabase, TEST_JWT_SECRET, testConfig, withFailingActivityInsert } from "./helpers.js";
import { until, wsClient } from "./live.js";

// The gateway logs at info into memory while it serves requests carrying a token, API keys and
// message bodies; none of them may appear in what it wrote.
let lines: string[] = [];
let gateway: Gateway;
let database: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  database = await freshDatabase();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  gateway = await createGateway(testConfig({ LOG_LEVEL: "info" }), { db: database.db, log: createLogger("info", sink) });
  await seedDemoData(database.db.prisma, { contacts: 3, conversations: 3 });
});
afterAll(async () => {
  await gateway?.close();
  await database?.drop();
});

async function post(headers: Record<string, string>, query: string, variables: Record<string, unknown> = {}) {
  const res = await gateway.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

describe("logs", () => {
  it("never contain tokens, API keys or message bodies at info level", async () => {
    const admin = await database.db.prisma.agent.findFirstOrThrow({ where: { role: "ADMIN" }, orderBy: { createdAt: "asc" } });
    const token = signAgentToken(TEST_JWT_SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role });
    const auth = { authorization: `Bearer ${token}` };
    const conversation = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: admin.workspaceId } });

    const created = await post(auth, `mutation { createApiKey(name: "bridge") { secret } }`);
    const apiKey: string = created.data.createApiKey.secret;
    const inbound = "Inbound body 7f3a: my card number is 4111 1111 1111 1111";
    const outbound = "Outbound body 9c2e: your reset code is 004271";
    const receive = `mutation($input: ReceiveMessageInput!) { receiveMessage(input: $input) { id body } }`;
    // The same secrets through every path: bearer key, x-api-key, a body that fails validation, a bad token.
    expect((await post({ authorization: `Bearer ${apiKey}` }, receive, { input: { conversationId: conversation.id, body: inbound, externalId: "log-1" } })).errors).toBeUndefined();
    expect((await post({ "x-api-key": apiKey }, receive, { input: { conversationId: conversation.id, body: inbound, externalId: "log-2" } })).errors).toBeUndefined();
    expect((await post(auth, `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }`, { input: { conversationId: conversation.id, body: outbound } })).errors).toBeUndefined();
    expect((await post(auth, receive, { input: { conversationId: conversation.id, body: inbound, externalId: "" } })).errors).toHaveLength(1);
    expect((await post({ authorization: `Bearer ${token}x` }, `{ agents { id } }`)).errors).toHaveLength(1);
    expect((await post({ "x-api-key": `${apiKey}x` }, `{ agents { id } }`)).errors).toHaveLength(1);

    await new Promise((resolve) => setImmediate(resolve));
    // The requests were logged (so the check below has something to look at), one line each.
    expect(lines.filter((l) => JSON.parse(l).msg === "request").length).toBeGreaterThanOrEqual(7);
    const written = lines.join("\n");
    for (const secret of [token, token.split(".")[2], apiKey, apiKey.slice(4), inbound, outbound, "4111 1111", "004271"]) {
      expect(written).not.toContain(secret);
    }
  });

  it("carry the request id a caller sent, echoed back, on the request line and on an unexpected error's one line", async () => {
    const admin = await database.db.prisma.agent.findFirstOrThrow({ where: { role: "ADMIN" }, orderBy: { createdAt: "asc" } });
    const auth = { authorization: `Bearer ${signAgentToken(TEST_JWT_SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role })}` };
    const conversation = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: admin.workspaceId, status: "OPEN" } });
    const send = (requestId: string) =>
      gateway.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": requestId, ...auth },
        body: JSON.stringify({
          query: "mutation($id: ID!) { updateConversationStatus(id: $id, status: CLOSED) { id } }",
          variables: { id: conversation.id },
        }),
      });
    // A fault below the resolvers: the activity insert of this one conversation fails.
    await withFailingActivityInsert(database.db, conversation.id, async () => {
      lines = [];
      const response = await send("support-ticket-4711");
      expect(response.headers.get("x-request-id")).toBe("support-ticket-4711");
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code)).toEqual(["INTERNAL_SERVER_ERROR"]);
      await new Promise((resolve) => setImmediate(resolve));
      const entries = lines.map((l) => JSON.parse(l) as { msg: string; requestId?: string; err?: unknown });
      const unexpected = entries.filter((e) => e.msg === "unexpected error (masked)");
      expect(unexpected).toHaveLength(1);
      expect(unexpected[0]).toMatchObject({ requestId: "support-ticket-4711" });
      // The database's own message, which the client never sees, is in the log.
      expect(JSON.stringify(unexpected[0]!.err)).toContain("activity insert refused");
      expect(entries.filter((e) => e.msg === "request").map((e) => e.requestId)).toEqual(["support-ticket-4711"]);

      // An id that is not a plain token (spaces, or too long) is replaced by one of the gateway's own.
      for (const unusable of ["two words", "x".repeat(129)]) {
        const replaced = (await send(unusable)).headers.get("x-request-id");
        expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
      }
    });
  });

  it("log a failure of ours while checking credentials once, with the request's id; the caller gets INTERNAL_SERVER_ERROR", async () => {
    // An agent whose standing is not cached yet, checked while its table is away.
    const agent = await database.db.prisma.agent.findFirstOrThrow({ where: { role: "VIEWER" } });
    const token = signAgentToken(TEST_JWT_SECRET, { agentId: agent.id, workspaceId: agent.workspaceId, role: agent.role });
    lines = [];
    await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Agent" RENAME TO "AgentAway"`);
    let res: Response;
    try {
      res = await gateway.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-request-id": "auth-failure-1" },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
    } finally {
      await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "AgentAway" RENAME TO "Agent"`);
    }
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code)).toEqual(["INTERNAL_SERVER_ERROR"]);
    const unexpected = lines.map((l) => JSON.parse(l) as { msg: string; requestId?: string }).filter((e) => e.msg === "unexpected error (masked)");
    expect(unexpected).toEqual([expect.objectContaining({ requestId: "auth-failure-1" })]);
  });

  it("give a WebSocket connection an id: on its connected and closed lines, a line per operation and its operations' unexpected errors, never its token", async () => {
    const admin = await database.db.prisma.agent.findFirstOrThrow({ where: { role: "ADMIN" }, orderBy: { createdAt: "asc" } });
    const token = signAgentToken(TEST_JWT_SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role });
    const conversation = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: admin.workspaceId, status: "OPEN" } });
    lines = [];
    // Operation ids are the client's to choose, of any length.
    const ids: string[] = [];
    const generateID = () => {
      const id = `op ${ids.length} ${"x".repeat(100)}`;
      ids.push(id);
      return id;
    };
    const client = wsClient(await gateway.listen(0, "127.0.0.1"), token, { generateID });
    await withFailingActivityInsert(
      database.db,
      conversation.id,
      async () => {
        try {
          const frames = [];
          for await (const frame of client.iterate({ query: "mutation Close($id: ID!) { updateConversationStatus(id: $id, status: CLOSED) { id } }", variables: { id: conversation.id } })) frames.push(frame);
          expect(frames.map((f) => f.errors?.map((e) => e.extensions?.code))).toEqual([["INTERNAL_SERVER_ERROR"]]);
          await expect(client.iterate({ query: "{ nothingHere }" }).next()).rejects.toEqual([expect.objectContaining({ extensions: { code: "BAD_USER_INPUT" } })]);
        } finally {
          await client.dispose();
        }
      },
      "activity insert refused over the socket",
    );
    const entries = () => lines.map((l) => JSON.parse(l) as { msg: string; connectionId?: string; code?: number; err?: unknown; operationId?: string });
    await until(() => entries().some((e) => e.msg === "websocket closed"), "the closed line");
    const [connected] = entries().filter((e) => e.msg === "websocket connected");
    expect(connected?.connectionId).toMatch(/^[0-9a-f-]{36}$/);
    const unexpected = entries().filter((e) => e.msg === "unexpected error (masked)");
    expect(unexpected).toHaveLength(1);
    expect(unexpected[0]!.connectionId).toBe(connected!.connectionId);
    expect(JSON.stringify(unexpected[0]!.err)).toContain("activity insert refused over the socket");
    expect(entries().find((e) => e.msg === "websocket closed")).toMatchObject({ connectionId: connected!.connectionId, code: 1000 });
    // One line per operation, as HTTP has per request: what it was, how long it took, and for one
    // refused before it ran, why.
    const operations = entries().filter((e) => e.msg === "websocket operation");
    // The client closed its lazy connection when the mutation ended, and opened another.
    const connections = entries().filter((e) => e.msg === "websocket connected").map((e) => e.connectionId);
    expect(operations).toEqual([
      expect.objectContaining({ connectionId: connections[0], operation: "mutation", operationName: "Close", durationMs: expect.any(Number) }),
      expect.objectContaining({ connectionId: connections[1], errors: ["BAD_USER_INPUT"] }),
    ]);
    expect(operations[0]).not.toHaveProperty("errors");
    // Their first 64 characters: a client's id cannot make a log line as long as it likes.
    expect(operations.map((o) => o.operationId)).toEqual(ids.map((id) => id.slice(0, 64)));
    expect(lines.join("\n")).not.toContain(token);
  });
});
