import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
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
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.dataDir ?? "./data");
}

async function openPglite(dataDir: string): Promise<Database> {
  const inMemory = dataDir.startsWith("memory://");
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(inMemory ? dataDir : path.resolve(dataDir));
  const sql = new SqlObserver();
  // pglite-prisma-adapter 0.6 is typed against driver-adapter-utils 6.10; at run time it speaks the
  // same adapter protocol as Prisma 6.19 (shared notes/stack.md), only the type declarations differ.
  const adapter = new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory;
  const prisma = new PrismaClient({ adapter: sql.wrap(adapter) });
  return {
    prisma,
    kind: "pglite",
    location: inMemory ? dataDir : path.resolve(dataDir),
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
    },
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => undefined);
  const sql = new SqlObserver();
  const prisma = new PrismaClient({ adapter: sql.wrap(new PrismaPg(pool)) });
  const location = new URL(url);
  location.password = location.password ? "***" : "";
  return {
    prisma,
    kind: "postgresql",
    location: location.toString(),
    sql,
    withSession: async (fn) => {
      const client = await pool.connect();
      try {
        return await fn({
          query: async <T>(text: string, params?: unknown[]) =>
            (await client.query(text, params)).rows as T[],
          exec: async (script) => {
            await client.query(script);
          },
        });
      } finally {
        client.release();
      }
    },
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
