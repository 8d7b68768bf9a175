import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { signAgentToken, type TokenSubject } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";
import type { Database } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData, type SeedOptions, type SeedResult } from "../src/db/seed.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import type { Prisma, PrismaClient } from "../src/generated/prisma/client.js";
import type { AgentRole } from "../src/generated/prisma/enums.js";
import { databaseFrom, EMPTY } from "./database-templates.js";

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

/** Which database the suite runs on: PostgreSQL when TEST_DATABASE_URL is set, else PGlite. */
export const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

/**
 * A fresh, empty database for one test file: a copy of an empty PGlite folder, or a new database on
 * the PostgreSQL server that TEST_DATABASE_URL points at (dropped again by `drop`).
 */
export async function freshDatabase(): Promise<{ db: Database; url?: string; drop(): Promise<void> }> {
  return databaseFrom(EMPTY, async () => null);
}

/** A database state as test/database-templates.ts takes it: migrated, and seeded with `options` unless they are null. */
export function seeded(options: SeedOptions | null): [string, (db: Database) => Promise<SeedResult | null>] {
  return [
    `migrated, seeded with ${JSON.stringify(options)}`,
    async (db) => {
      await migrate(db);
      return options && seedDemoData(db.prisma, options);
    },
  ];
}

/** What `fn` returns inside a transaction that is then rolled back: the transaction ends by throwing it. */
export async function rolledBack<T>(prisma: PrismaClient, fn: (tx: Prisma.TransactionClient) => Promise<T>, options: { timeout?: number } = {}): Promise<T> {
  class Result {
    constructor(readonly value: T) {}
  }
  const outcome = await prisma
    .$transaction(async (tx) => {
      throw new Result(await fn(tx));
    }, options)
    .catch((error: unknown) => error);
  if (outcome instanceof Result) return outcome.value;
  throw outcome;
}

export function testConfig(overrides: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    JWT_SECRET: TEST_JWT_SECRET,
    SEED_DEMO_DATA: "never",
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "inbox-test-")),
    // No tally folding in the background: its statements would land in the windows where tests
    // count a request's SQL. test/counts.test.ts turns it on where folding is what it tests.
    TALLY_COMPACTION_INTERVAL_MS: "0",
    // No pre-stop delay, in production mode too: a test's close() is not watched by a load balancer.
    SHUTDOWN_DRAIN_MS: "0",
    ...overrides,
  });
}

export interface TestGateway {
  gateway: Gateway;
  db: Database;
  seed: SeedResult | null;
  /** A token for the seeded agent with this role (the demo admin by default). */
  token(role?: AgentRole): Promise<string>;
  tokenFor(agent: TokenSubject): string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: { token?: string | null }): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

/** A gateway on a database of its own, migrated, optionally seeded; requests go through yoga.fetch. */
export async function startTestGateway(options: { seed?: SeedOptions | false; config?: Record<string, string> } = {}): Promise<TestGateway> {
  const database = await databaseFrom(...seeded(options.seed === false ? null : { contacts: 40, conversations: 150, ...options.seed }));
  const seed = database.built;
  const gateway = await createGateway(testConfig(options.config), { db: database.db });
  const tokenFor = (agent: TokenSubject) => signAgentToken(TEST_JWT_SECRET, agent);
  const token = async (role: AgentRole = "ADMIN") => {
    const agent = await database.db.prisma.agent.findFirstOrThrow({
      where: { role, active: true, ...(seed ? { workspaceId: seed.workspaceId } : {}) },
      orderBy: { createdAt: "asc" },
    });
    return tokenFor({ agentId: agent.id, workspaceId: agent.workspaceId, role: agent.role });
  };
  const defaultToken = seed ? await token() : null;
  return {
    gateway,
    db: database.db,
    seed,
    token,
    tokenFor,
    async gql(query, variables, requestOptions = {}) {
      const bearer = requestOptions.token === undefined ? defaultToken : requestOptions.token;
      const response = await gateway.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...(await response.json()) };
    },
    async close() {
      await gateway.close();
      await database.drop();
    },
  };
}

/** The data of a response that must have succeeded. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}

/**
 * Runs `fn` while the database refuses to insert activity entries (of `conversationId` only, or of
 * every conversation): a fault below the resolvers, after a write has begun, which must roll the
 * write back and reach a client only as INTERNAL_SERVER_ERROR. The database says
 * "<message> for <conversationId>".
 */
export async function withFailingActivityInsert<T>(db: Database, conversationId: string | null, fn: () => Promise<T>, message = "activity insert refused"): Promise<T> {
  await db.prisma.$executeRawUnsafe(`CREATE FUNCTION fail_activity_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '${message} for %', NEW."conversationId"; END $$`);
  await db.prisma.$executeRawUnsafe(`CREATE TRIGGER fail_activity_insert BEFORE INSERT ON "ConversationActivity" FOR EACH ROW
    ${conversationId ? `WHEN (NEW."conversationId" = '${conversationId}')` : ""} EXECUTE FUNCTION fail_activity_insert()`);
  try {
    return await fn();
  } finally {
    await db.prisma.$executeRawUnsafe(`DROP TRIGGER fail_activity_insert ON "ConversationActivity"`);
    await db.prisma.$executeRawUnsafe(`DROP FUNCTION fail_activity_insert()`);
  }
}
