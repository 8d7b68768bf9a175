import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRows } from "../src/db/adapter-reads.js";
import type { Database } from "../src/db/client.js";
import { Prisma } from "../src/generated/prisma/client.js";
import { databaseFrom } from "./database-templates.js";
import { rolledBack, seeded } from "./helpers.js";

// Reads go to Prisma's driver adapter without Prisma Client (src/db/adapter-reads.ts): what they
// return must be what `$queryRaw` returns for the same statement, value for value.
describe("reads through the driver adapter", () => {
  let db: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await databaseFrom(...seeded({ contacts: 20, conversations: 40 }));
    ({ db, drop } = database);
    // Every nullable column of the seeded workspace with a value, to compare values and not only nulls.
    await db.prisma.$executeRaw`UPDATE "Conversation" SET "priority" = 'HIGH' WHERE "id" IN (SELECT "id" FROM "Conversation" ORDER BY "id" LIMIT 3)`;
    await db.prisma.$executeRaw`UPDATE "Contact" SET "metadata" = '{"plan": "pro", "seats": [1, 2.5], "vip": true}' WHERE "id" IN (SELECT "id" FROM "Contact" ORDER BY "id" LIMIT 3)`;
    await db.prisma.$executeRaw`INSERT INTO "ApiKey" ("id", "workspaceId", "name", "role", "secretHash", "prefix", "revokedAt")
      SELECT 'key_adapterreads', "id", 'reads', 'VIEWER', 'hash', 'ig_live_', now() FROM "Workspace" LIMIT 1`;
  });
  afterAll(async () => {
    await drop?.();
  });

  const tables = ["Workspace", "Agent", "Contact", "Conversation", "ConversationTally", "LabelTally", "Message", "ConversationActivity", "ApiKey"];
  it.each(tables)("every column of %s comes out as $queryRaw gives it", async (table) => {
    const query = Prisma.sql`SELECT * FROM ${Prisma.raw(`"${table}"`)} ORDER BY 1 LIMIT 200`;
    const [direct, client] = await Promise.all([readRows<Record<string, unknown>>(db.prisma, query), db.prisma.$queryRaw<Record<string, unknown>[]>(query)]);
    expect(direct).toEqual(client);
    // toEqual treats a missing key and an undefined one alike; a row must have every column, in order.
    expect(direct.map((row) => Object.keys(row))).toEqual(client.map((row) => Object.keys(row)));
    expect(direct.length).toBeGreaterThan(0);
  });

  it("computed values, parameters of every kind and nulls come out as $queryRaw gives them", async () => {
    const since = new Date("2026-01-02T03:04:05.678Z");
    const query = Prisma.sql`SELECT count(*)::int AS "count", count(*) AS "bigCount", sum(t."messageCount") AS "sum",
      (count(*) > ${0}) AS "any", max(t."lastMessageAt") AS "latest", CAST(${since} AS timestamptz) AS "since",
      ${"text"} AS "text", CAST(${'{"a","b"}'} AS text[]) AS "list", CAST(NULL AS text) AS "nothing",
      jsonb_build_object('n', ${1.5}::float8) AS "json", avg(t."unreadCount")::float8 AS "average", CAST('OPEN' AS "ConversationStatus") AS "status"
      FROM "Conversation" t WHERE t."createdAt" > ${since}`;
    const [direct, client] = await Promise.all([readRows<Record<string, unknown>>(db.prisma, query), db.prisma.$queryRaw<Record<string, unknown>[]>(query)]);
    expect(direct).toEqual(client);
    expect(direct[0]).toMatchObject({ since, bigCount: expect.any(BigInt), json: { n: 1.5 }, list: ["a", "b"], nothing: null });
  });

  it("a column type it does not convert is refused with a message that says so, not guessed", async () => {
    await expect(readRows(db.prisma, Prisma.sql`SELECT 1.5::numeric AS "amount"`)).rejects.toThrow(/does not convert columns.*\$queryRaw/);
  });

  it("inside a transaction it reads through the transaction's client, and sees its uncommitted writes", async () => {
    const [{ id }] = await db.prisma.$queryRaw<{ id: string }[]>`SELECT "id" FROM "Conversation" ORDER BY "id" LIMIT 1`;
    const read = Prisma.sql`SELECT "subject" FROM "Conversation" WHERE "id" = ${id}`;
    const seen = await rolledBack(db.prisma, async (tx) => {
      await tx.$executeRaw`UPDATE "Conversation" SET "subject" = 'inside' WHERE "id" = ${id}`;
      return readRows<{ subject: string }>(tx as typeof db.prisma, read);
    });
    expect(seen).toEqual([{ subject: "inside" }]);
    expect(await readRows<{ subject: string }>(db.prisma, read)).not.toEqual([{ subject: "inside" }]);
  });
});
