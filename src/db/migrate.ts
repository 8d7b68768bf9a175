import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Database, ScriptSession } from "./client.js";

const migrationsDir = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

// Any fixed 64-bit key works; every gateway instance must use the same one.
const MIGRATION_LOCK_KEY = 72_640_311_001;

export interface MigrationResult {
  applied: string[];
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(): Promise<Migration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(migrationsDir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

// The same table Prisma's CLI keeps, so `prisma migrate status` agrees with what ran here.
const BOOKKEEPING_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Applies pending prisma/migrations in order, each in its own transaction with its bookkeeping
 * row. The Prisma CLI cannot migrate a real PostgreSQL through a driver adapter (prisma/prisma#27403,
 * README "On PostgreSQL"), so the gateway does it at start, under an advisory lock so that
 * instances starting together apply each migration once.
 */
export async function migrate(db: Database): Promise<MigrationResult> {
  const migrations = await readMigrations();
  return db.withSession(async (session) => {
    await session.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      await session.exec(BOOKKEEPING_TABLE);
      const done = await appliedChecksums(session);
      const applied: string[] = [];
      for (const migration of migrations) {
        const checksum = done.get(migration.name);
        if (checksum === migration.checksum) continue;
        if (checksum !== undefined) {
          throw new Error(`Migration ${migration.name} was changed after it was applied (checksum differs).`);
        }
        await apply(session, migration);
        applied.push(migration.name);
      }
      return { applied };
    } finally {
      await session.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
  });
}

/** Names of migrations present on disk but not yet applied; empty when the schema is current. */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const migrations = await readMigrations();
  return db.withSession(async (session) => {
    const [{ exists }] = await session.query<{ exists: boolean }>(
      `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists`,
    );
    const done = exists ? await appliedChecksums(session) : new Map<string, string>();
    return migrations.filter((m) => done.get(m.name) !== m.checksum).map((m) => m.name);
  });
}

async function appliedChecksums(session: ScriptSession): Promise<Map<string, string>> {
  const rows = await session.query<{ migration_name: string; checksum: string }>(
    `SELECT migration_name, checksum FROM "_prisma_migrations"
     WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return new Map(rows.map((r) => [r.migration_name, r.checksum]));
}

async function apply(session: ScriptSession, migration: Migration): Promise<void> {
  await session.exec("BEGIN");
  try {
    const id = randomUUID();
    await session.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
      [id, migration.checksum, migration.name],
    );
    await session.exec(migration.sql);
    await session.query(
      `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await session.exec("COMMIT");
  } catch (error) {
    await session.exec("ROLLBACK");
    throw new Error(`Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
  }
}
