import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAgentToken } from "../src/auth/tokens.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData, type SeedResult } from "../src/db/seed.js";
import { createGateway } from "../src/gateway.js";
import { freshDatabase, onPostgres, TEST_JWT_SECRET, testConfig } from "./helpers.js";

// DATABASE_STATEMENT_CACHE_SIZE (src/db/prepared-statements.ts): on PostgreSQL each connection runs
// the statements as named prepared statements, so the server parses them once and can keep one
// plan for an inbox page. Each gateway here has a pool of one connection, whose prepared
// statements pg_prepared_statements then shows.

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
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements",
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

  it("prepares no more distinct statements than DATABASE_STATEMENT_CACHE_SIZE, and none with 0", async () => {
    const work = async (send: Send) => {
      await ok(send, INBOX, { first: 10 });
      await ok(send, INBOX, { first: 20 });
      await ok(send, `query { conversationCounts(filter: {}) { open } contacts(first: 5) { edges { node { id } } } }`, {});
    };
    expect(await preparedAfter(2, work)).toHaveLength(2);
    expect(await preparedAfter(0, work)).toHaveLength(0);
  });

  it("a statement prepared before a migration changed its table's columns fails once, writing nothing, and is then prepared again", async () => {
    const STATUS = `mutation($id: ID!, $status: ConversationStatus!) { updateConversationStatus(id: $id, status: $status) { id status } }`;
    const { id } = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: seed.workspaceId, status: "OPEN" } });
    const status = () => database.db.prisma.conversation.findUniqueOrThrow({ where: { id } }).then((c) => c.status);
    try {
      await preparedAfter(100, async (send) => {
        // Locking the row reads SELECT * FROM "Conversation": its result has every column.
        await ok(send, STATUS, { id, status: "ARCHIVED" });
        await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Conversation" ADD COLUMN "addedMeanwhile" integer`);
        const first = await send(STATUS, { id, status: "CLOSED" });
        if (first.errors) {
          expect(first.errors[0]!.extensions.code).toBe("INTERNAL_SERVER_ERROR");
          expect(await status()).toBe("ARCHIVED");
        }
        await ok(send, STATUS, { id, status: "CLOSED" });
        expect(await status()).toBe("CLOSED");
      });
    } finally {
      await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Conversation" DROP COLUMN IF EXISTS "addedMeanwhile"`);
    }
  });
});
