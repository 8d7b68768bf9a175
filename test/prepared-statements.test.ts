import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAgentToken } from "../src/auth/tokens.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { PREPARED } from "../src/db/prepared-statements.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData, type SeedResult } from "../src/db/seed.js";
import { createGateway } from "../src/gateway.js";
import { freshDatabase, onPostgres, TEST_JWT_SECRET, testConfig } from "./helpers.js";

// DATABASE_STATEMENT_CACHE_SIZE (src/db/prepared-statements.ts): on PostgreSQL the statements
// whose plan cannot depend on their values (an inbox page, a read by ids) run as named prepared
// statements on half the pool's connections, each planned once; every other statement runs
// unnamed on the other half and is planned for its values. The databases here have a pool of two
// connections, so one of each, and pg_prepared_statements on the first shows what it holds.

const INBOX = `query($first: Int!, $after: String) { conversations(first: $first, after: $after, filter: { status: [OPEN] }) { pageInfo { endCursor } edges { node { id subject contact { fullName } } } } }`;

type Prepared = { statement: string; generic_plans: bigint; custom_plans: bigint };

/**
 * What the prepared statements' connection holds. Marked and given a value, this statement runs
 * there too (prepared itself, so it takes a place in the cache), and leaves itself out.
 */
async function preparedOn(db: Database): Promise<Prepared[]> {
  const text = `${PREPARED}SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement <> $1 ORDER BY prepare_time`;
  return db.prisma.$queryRawUnsafe<Prepared[]>(text, text);
}

/** A setting as the connections that run marked statements, or the others, have it. */
async function setting(db: Database, name: string, marked: boolean): Promise<string> {
  const [{ value }] = await db.prisma.$queryRawUnsafe<{ value: string }[]>(`${marked ? PREPARED : ""}SELECT current_setting($1) AS value`, name);
  return value;
}

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
  /** Sends an operation that must succeed, and returns its data. */
  const ok = async (send: Send, query: string, variables: Record<string, unknown>) => {
    const result = await send(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data;
  };

  /** A gateway on the test database with two connections, preparing up to `cacheSize` statements; what the prepared ones hold after `work`. */
  async function preparedAfter(cacheSize: number, work: (send: Send) => Promise<void>) {
    const db = await openDatabase({ url: database.url!, poolSize: 2, statementCacheSize: cacheSize });
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
      return await preparedOn(db);
    } finally {
      await gateway.close();
      await db.close();
    }
  }

  it("an inbox page, first or after a cursor, is parsed once and planned once, without its values", async () => {
    const prepared = await preparedAfter(100, async (send) => {
      const first = await ok(send, INBOX, { first: 10 });
      for (let i = 0; i < 7; i++) await ok(send, INBOX, { first: 10 });
      for (let i = 0; i < 3; i++) await ok(send, INBOX, { first: 10, after: first.conversations.pageInfo.endCursor });
    });
    const pages = prepared.filter((p) => p.statement.includes(`FROM "Conversation" t`) && p.statement.includes("LIMIT 11"));
    expect(pages.map((p) => [Number(p.generic_plans), Number(p.custom_plans)])).toEqual([
      [8, 0],
      [3, 0],
    ]);
  });

  it("runs the prepared ones where no plan sorts, and plans every other statement for its values, on connections of its own", async () => {
    const db = await openDatabase({ url: database.url!, poolSize: 2, statementCacheSize: 100 });
    try {
      expect(await setting(db, "plan_cache_mode", true)).toBe("force_generic_plan");
      expect(await setting(db, "enable_sort", true)).toBe("off");
      expect(await setting(db, "plan_cache_mode", false)).toBe("auto");
      expect(await setting(db, "enable_sort", false)).toBe("on");
    } finally {
      await db.close();
    }
  });

  it("prepares no other statement: a filtered inbox, another order with a status, the counts and the contacts", async () => {
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
    for (const p of prepared) expect([Number(p.generic_plans), Number(p.custom_plans)]).toEqual([3, 0]);
  });

  it("keeps the DATABASE_STATEMENT_CACHE_SIZE statements used last prepared, deallocating the others, and none with 0", async () => {
    /** The LIMITs of the inbox pages prepared, in the order they were prepared. */
    const limits = (prepared: Prepared[]) => prepared.map((p) => Number(/LIMIT (\d+)/.exec(p.statement)?.[1]));
    const pages = (...sizes: number[]) => async (send: Send) => {
      for (const first of sizes) await ok(send, INBOX, { first });
    };
    // Three places; reading pg_prepared_statements takes one too, and pushes out the oldest left.
    expect(limits(await preparedAfter(3, pages(10, 20, 30, 40)))).toEqual([31, 41]);
    // The page of 10, pushed out, is prepared again when read again.
    expect(limits(await preparedAfter(3, pages(10, 20, 30, 40, 10)))).toEqual([41, 11]);
    // Read again before the page of 40 needs a place, the page of 10 stays; the page of 20 goes.
    expect(limits(await preparedAfter(3, pages(10, 20, 30, 10, 40)))).toEqual([11, 41]);
    expect(await preparedAfter(0, pages(10, 20, 30))).toHaveLength(0);
  });

  it("a prepared statement gone stale (its table's columns changed, or the connection's statements dropped) is answered anyway, then prepared again", async () => {
    const { id } = await database.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: seed.workspaceId } });
    // DEALLOCATE ALL, as DISCARD ALL does, from a statement with a value, so it runs where the prepared ones are.
    await database.db.prisma.$executeRawUnsafe(`CREATE FUNCTION "deallocateAll"(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DEALLOCATE ALL'; RETURN n; END $$`);
    const db = await openDatabase({ url: database.url!, poolSize: 2, statementCacheSize: 100 });
    // Every column: a column added changes what the prepared statement returns (0A000).
    const read = () => db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`${PREPARED}SELECT * FROM "Conversation" WHERE "id" = $1`, id);
    /** The read's prepared statements where they run now, by how often each ran. */
    const prepared = async () => (await preparedOn(db)).filter((p) => p.statement.includes(`FROM "Conversation"`)).map((p) => Number(p.generic_plans));
    try {
      expect(await read()).toHaveLength(1);
      expect(await prepared()).toEqual([1]);
      await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Conversation" ADD COLUMN "addedMeanwhile" integer`);
      // The failed run also cost its connection (the pool closes one that reports an error).
      const [row] = await read();
      expect(row).toHaveProperty("addedMeanwhile", null);
      expect(await read()).toHaveLength(1);
      expect(await prepared()).toEqual([1]);
      // The driver still counts the connection's statements parsed; the server has none (26000).
      await db.prisma.$queryRawUnsafe(`${PREPARED}SELECT "deallocateAll"($1)`, 1);
      expect(await read()).toHaveLength(1);
      expect(await read()).toHaveLength(1);
      expect(await prepared()).toEqual([1]);
    } finally {
      await db.close();
      await database.db.prisma.$executeRawUnsafe(`ALTER TABLE "Conversation" DROP COLUMN IF EXISTS "addedMeanwhile"`);
      await database.db.prisma.$executeRawUnsafe(`DROP FUNCTION "deallocateAll"`);
    }
  });
});
