import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Where this run keeps its database templates (test/database-templates.ts). */
    databaseTemplates: { folder: string; prefix: string };
  }
}

/** One folder, and one database name prefix on PostgreSQL, for the templates of this run; both go at its end. */
export default async function setup(project: TestProject) {
  const folder = await mkdtemp(path.join(tmpdir(), "inbox-templates-"));
  const prefix = `inbox_template_${randomBytes(4).toString("hex")}_`;
  project.provide("databaseTemplates", { folder, prefix });
  return async () => {
    await rm(folder, { recursive: true, force: true });
    const serverUrl = process.env.TEST_DATABASE_URL;
    if (!serverUrl) return;
    await asAdmin(serverUrl, async (admin) => {
      const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [prefix]);
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    });
  };
}

/** Runs `fn` on a connection of its own to the server TEST_DATABASE_URL names (databases are made and dropped outside any). */
export async function asAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
