import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAgentToken } from "../src/auth/tokens.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { PREPARED } from "../src/db/prepared-statements.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData, type SeedResult } from "../src/db/seed.js";
import { createGateway } from "../src/gateway.js";
import { freshDatabase, onPostgres, TEST_JWT_SECRET, testConfig } from "./helpers.js";

// DATABASE_STATEMENT_CACHE_SIZE (src/db/prepared-statements.ts): on PostgreSQL each connection runs
// the statements whose plan cannot depend on their values (an inbox page) as named prepared
// statements, so the server parses them once and keeps one plan; every other statement runs
// unnamed and is planned for its values. Each gateway here has a pool of one connection, whose
// prepared statements pg_prepared_statements then shows.

const INBOX = `query($first: Int!) { conversations(first: $first, filter: { status: [OPEN] }) { edges { node { id subject contact { fullName } } } } }`;

describe.runIf(onPostgres)("prepared statements", () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let seed: SeedResult;

  beforeAll(async () => {
    database = await freshDatabase();
    await migrate(database.db);
    seed = await seedDemoData(database.db.prisma, { contacts: 40, conversations: 150 });
  });
  afterAll(async () => {
    await database?.drop();
  });

  type Send = (query: string, variables: Record<string, unknown>) => Promise<{ data?: any; errors?: { extensions: { code: string } }[] }>;
  /** Sends an operation that must succeed. */
  const ok = async (send: Send, query: string, variables: Record<string, unknown>) => expect((await send(query, variables)).errors).toBeUndefined();

  /** A gateway on the test database with one connection preparing up to `cacheSize` statements; the connection's prepared statements after `work`. */
  async function preparedAfter(cacheSize: number, work: (send: Send) => Promise<void>) {
    const db: Database = await openDatabase({ url: database.url!, poolSize: 1, statementCacheSize: cacheSize });
    const gateway = await createGateway(testConfig(), { db });
    const admin = await database.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seed.workspaceId, role: "ADMIN" } });
    const token = signAgentToken(TEST_JWT_SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role });
    try {
      await work(async (query, variables) => {
        const response = await gateway.fetch("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
        return response.json();
      });
      // Without parameters, this statement is not prepared itself.
      return await db.prisma.$queryRawUnsafe<{ statement: string; generic_plans: bigint; custom_plans: bigint }[]>(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements ORDER BY prepare_time",
      );
    } finally {
      await gateway.close();
      await db.close();
    }
  }

  it("an inbox page is parsed once on its connection and then served from one plan", async () => {
    const prepared = await preparedAfter(100, async (send) => {
      for (let i = 0; i < 8; i++) await ok(send, INBOX, { first: 10 });
    });
    const page = prepared.filter((p) => p.statement.includes(`FROM "Conversation" t`) && p.statement.includes("LIMIT 11"));
    expect(page).toHaveLength(1);
    expect(Number(page[0]!.generic_plans) + Number(page[0]!.custom_plans)).toBe(8);
    // PostgreSQL plans the first five executions for their values, then keeps the generic plan.
    expect(Number(page[0]!.generic_plans)).toBeGreaterThan(0);
  });

  it("prepares no other statement: a filtered inbox, another order with a status, the counts and the contacts are planned for their values", async () => {
    const agent = await database.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seed.workspaceId } });
    const prepared = await preparedAfter(100, async (send) => {
      for (let i = 0; i < 6; i++) {
        await ok(send, `query($agent: ID!) { conversations(first: 10, filter: { labels: ["billing"], assignedToId: $agent, priority: [HIGH] }) { edges { node { id } } } }`, { agent: agent.id });
        await ok(send, `query { conversations(first: 10, filter: { status: [OPEN] }, orderBy: { field: CREATED_AT }) { edges { node { id } } } }`, {});
        await ok(send, `query { conversations(first: 10, filter: { status: [OPEN, CLOSED] }) { edges { node { id } } } }`, {});
        await ok(send, `query { conversationCounts(filter: {}) { open } contacts(first: 5) { edges { node { id } } } }`, {});
      }
    });
    expect(prepared).toEqual([]);
  });

  it("prepares the inbox, an agent's list and the workspace in any order, each text once, all marked", async () => {
    const agent = await database.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seed.workspaceId } });
    const prepared = await preparedAfter(100, async (send) => {
      await ok(send, INBOX, { first: 10 });
      await ok(send, INBOX, { first: 10 });
      await ok(send, `query($agent: ID!) { conversations(first: 10, filter: { assignedToId: $agent }) { edges { node { id } } } }`, { agent: agent.id });
      await ok(send, `query { conversations(first: 10, orderBy: { field: PRIORITY, direction: ASC }) { edges { node { id } } } }`, {});
    });
    expect(prepared).toHaveLength(3);
    for (const { statement } of prepared) expect(statement.startsWith(PREPARED)).toBe(true);
  });

  it("prepares a conversation read by id and its messages: primary keys and each conversation's index, whatever the values", async () => {
    const { id } = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: seed.workspaceId, messageCount: { gte: 2 } } });
    const prepared = await preparedAfter(100, async (send) => {
      for (let i = 0; i < 3; i++) await ok(send, `query($id: ID!) { conversation(id: $id) { id messages(first: 5) { edges { node { id body } } } } }`, { id });
    });
    expect(prepared.map((p) => p.statement.includes(`FROM "Message" t`))).toEqual([false, true]);
    for (const p of prepared) expect(Number(p.generic_plans) + Number(p.custom_plans)).toBe(3);
  });

  it("prepares no more distinct statements than DATABASE_STATEMENT_CACHE_SIZE, and none with 0", async () => {
    const work = async (send: Send) => {
      await ok(send, INBOX, { first: 10 });
      await ok(send, INBOX, { first: 20 });
      await ok(send, INBOX, { first: 30 });
    };
    expect(await preparedAfter(2, work)).toHaveLength(2);
    expect(await preparedAfter(0, work)).toHaveLength(0);
  });

  it("a prepared statement gone stale (its table's columns changed, or the connection's statements dropped) is answered anyway, then prepared again", async () => {
    const { id } = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: seed.workspaceId } });
    const db = await openDatabase({ url: database.url!, poolSize: 1, statementCacheSize: 100 });
    // Every column: a column added changes what the prepared statement returns (0A000).
    const read = () => db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`${PREPARED}SELECT * FROM "Conversation" WHERE "id" = $1`, id);
    const names = async () => (await db.prisma.$queryRawUnsafe<{ name: string }[]>("SELECT name FROM pg_prepared_statements ORDER BY name")).map((p) => p.name);
    try {
      expect(await read()).toHaveLength(1);
      expect(await names()).toEqual(["s1"]);
      await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Conversation" ADD COLUMN "addedMeanwhile" integer`);
      const [row] = await read();
      expect(row).toHaveProperty("addedMeanwhile", null);
      expect(await read()).toHaveLength(1);
      expect(await names()).toEqual(["s1", "s2"]);
      // DEALLOCATE ALL (as DISCARD ALL does) drops them on the server, while the driver still counts them parsed (26000).
      await db.prisma.$executeRawUnsafe("DEALLOCATE ALL");
      expect(await read()).toHaveLength(1);
      expect(await read()).toHaveLength(1);
      expect(await names()).toEqual(["s3"]);
    } finally {
      await db.close();
      await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Conversation" DROP COLUMN IF EXISTS "addedMeanwhile"`);
    }
  });
});
