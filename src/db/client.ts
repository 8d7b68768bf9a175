import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { unaccent } from "@electric-sql/pglite/contrib/unaccent";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaPGlite } from "pglite-prisma-adapter";
import lockfile from "proper-lockfile";
import { PrismaClient } from "../generated/prisma/client.js";
import { readThroughAdapter } from "./adapter-reads.js";
import { DEFAULT_STATEMENT_CACHE_SIZE, openPool } from "./prepared-statements.js";
import { SqlObserver } from "./sql-observer.js";

export type { PrismaClient };

/** A session for scripts that need one connection throughout (migrations and their lock). */
export interface ScriptSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script. */
  exec(script: string): Promise<void>;
}

export interface Database {
  prisma: PrismaClient;
  kind: "pglite" | "postgresql";
  /** Where the data lives, for people: a folder or a URL without its password. */
  location: string;
  sql: SqlObserver;
  withSession<T>(fn: (session: ScriptSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgresql:// URL; without one, an embedded PGlite database is used. */
  url?: string;
  /** PGlite folder; "memory://" keeps it in memory. */
  dataDir?: string;
  poolSize?: number;
  /**
   * PostgreSQL: the server stops any statement that runs longer (0 or unset: never), so a slow one
   * cannot hold a pool connection for good. `withSession` lifts it, for migrations and their lock.
   */
  statementTimeoutMs?: number;
  /** PostgreSQL: how many statements are kept prepared, the ones used last (prepared-statements.ts); 0: none. */
  statementCacheSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url
    ? openPostgres(options.url, options.poolSize ?? 10, options.statementTimeoutMs ?? 0, options.statementCacheSize ?? DEFAULT_STATEMENT_CACHE_SIZE)
    : openPglite(options.dataDir ?? "./data");
}

/** The embedded database's folder is open in another process: opening it too would lose writes. */
export class DatabaseInUse extends Error {
  constructor(
    readonly folder: string,
    advice = "Stop that process, or set DATA_DIR to another folder.",
  ) {
    super(
      `The embedded database in ${folder} is open in another process (a running gateway, or a command run against it). ` +
        `${advice} A process that died frees it within 10 seconds.`,
    );
    this.name = "DatabaseInUse";
  }
}

/**
 * Holds the folder for this process alone. PGlite does not: two processes on one folder both
 * accept writes and one process's are gone after a restart. The lock's mtime is refreshed every
 * 2 s, so the lock of a process that died goes stale after 10 s.
 */
async function lockFolder(folder: string): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(folder, { lockfilePath: path.join(folder, "gateway.lock"), stale: 10_000, update: 2_000, realpath: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") throw new DatabaseInUse(folder);
    throw err;
  }
}

async function openPglite(dataDir: string): Promise<Database> {
  const inMemory = dataDir.startsWith("memory://");
  const folder = path.resolve(dataDir);
  let unlock = async () => {};
  if (!inMemory) {
    await mkdir(folder, { recursive: true });
    unlock = await lockFolder(folder);
  }
  // The extensions the migrations create (PostgreSQL ships them; PGlite loads them here).
  const pglite = await PGlite.create(inMemory ? dataDir : folder, { extensions: { pg_trgm, unaccent } }).catch(async (err: unknown) => {
    await unlock();
    throw err;
  });
  const sql = new SqlObserver();
  // pglite-prisma-adapter 0.6 is typed against driver-adapter-utils 6.10; at run time it speaks the
  // same adapter protocol as Prisma 6.19 (the whole suite runs on it), only the type declarations differ.
  const adapter = sql.wrap(new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory);
  const prisma = new PrismaClient({ adapter });
  readThroughAdapter(prisma, adapter);
  return {
    prisma,
    kind: "pglite",
    location: inMemory ? dataDir : folder,
    sql,
    // PGlite is one connection in-process: every query already shares the session.
    withSession: (fn) =>
      fn({
        query: async <T>(text: string, params?: unknown[]) => (await pglite.query<T>(text, params)).rows,
        exec: async (script) => {
          await pglite.exec(script);
        },
      }),
    close: async () => {
      await prisma.$disconnect();
      // Closing flushes PGlite's files; a process that exits without it risks its data folder.
      await pglite.close();
      await unlock();
    },
  };
}

/** A database URL as it may be shown: without its password. */
export function redactedUrl(url: string): string {
  const location = new URL(url);
  location.password = location.password ? "***" : "";
  return location.toString();
}

async function openPostgres(url: string, poolSize: number, statementTimeoutMs: number, statementCacheSize: number): Promise<Database> {
  const pool = openPool({ connectionString: url, max: poolSize, ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}) }, statementCacheSize);
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => undefined);
  const sql = new SqlObserver();
  const adapter = sql.wrap(new PrismaPg(pool));
  const prisma = new PrismaClient({ adapter });
  readThroughAdapter(prisma, adapter);

  return {
    prisma,
    kind: "postgresql",
    location: redactedUrl(url),
    sql,
    withSession: async (fn) => {
      const client = await pool.connect();
      try {
        // A migration may wait for another instance's lock, or build an index, for longer than a request may take.
        if (statementTimeoutMs) await client.query("SET statement_timeout = 0");
        return await fn({
          query: async <T>(text: string, params?: unknown[]) =>
            (await client.query(text, params)).rows as T[],
          exec: async (script) => {
            await client.query(script);
          },
        });
      } finally {
        // Back to the pool's own setting; a connection that cannot be reset is closed instead.
        const broken = statementTimeoutMs ? await client.query("RESET statement_timeout").then(() => undefined, (error: Error) => error) : undefined;
        client.release(broken);
      }
    },
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
