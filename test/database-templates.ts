import { createHash, randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { openDatabase, type Database } from "../src/db/client.js";
import { asAdmin } from "./global-setup.js";

/** The state of a database just made: nothing in it, not even the migrations. */
export const EMPTY = "empty";

export interface TestDatabase<T> {
  db: Database;
  /** The database's URL on PostgreSQL. */
  url?: string;
  /** What building the template returned (the seed's ids, say). */
  built: T;
  drop(): Promise<void>;
}

/** A copy of a template, not opened: a PGlite folder or a PostgreSQL database, for a server process to open. */
export interface DatabaseCopy<T> {
  dataDir?: string;
  url?: string;
  built: T;
  remove(): Promise<void>;
}

/**
 * A database of its own for one test file, in the state `state` names, opened: see copyOf.
 */
export async function databaseFrom<T>(state: string, build: (db: Database) => Promise<T>): Promise<TestDatabase<T>> {
  const copy = await copyOf(state, build);
  const db = await openDatabase(copy.url ? { url: copy.url, poolSize: 5 } : { dataDir: copy.dataDir });
  return {
    db,
    url: copy.url,
    built: copy.built,
    drop: async () => {
      await db.close();
      await copy.remove();
    },
  };
}

/**
 * A database of its own for one test file, in the state `state` names: the first file of a run to
 * ask for a state builds it once with `build` (the migrator, the seed), every other one gets a copy.
 * On PGlite a template is a data folder, copied; on PostgreSQL a database, cloned by
 * `CREATE DATABASE … TEMPLATE`. Making, migrating and seeding a database took 2 to 7 s on PGlite;
 * copying one takes about 0.3 s.
 */
export async function copyOf<T>(state: string, build: (db: Database) => Promise<T>): Promise<DatabaseCopy<T>> {
  const template = await templateOf(state, build);
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    // In the run's folder, which goes at its end: a file that dies before removing its copy leaves nothing behind.
    const dataDir = await mkdtemp(path.join(inject("databaseTemplates").folder, "copy-"));
    await cp(template.location, dataDir, { recursive: true });
    return { dataDir, built: template.built, remove: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `inbox_test_${randomBytes(6).toString("hex")}`;
  await asAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE ${template.location}`));
  return {
    url: databaseUrl(serverUrl, name),
    built: template.built,
    remove: async () => {
      await asAdmin(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * The template for `state`, built by whichever test file claims it first (a folder made with mkdir
 * is the claim: only one process succeeds); the others wait for its record. A build that fails
 * gives up its claim, so the next file tries, in a place of its own, and fails with the error itself.
 */
async function templateOf<T>(state: string, build: (db: Database) => Promise<T>): Promise<{ location: string; built: T }> {
  const { folder, prefix } = inject("databaseTemplates");
  const id = createHash("sha256").update(state).digest("hex").slice(0, 16);
  const record = path.join(folder, `${id}.json`);
  const claim = path.join(folder, `${id}.claim`);
  // Building the largest template (a thousand seeded conversations) takes minutes on a busy CI box.
  const deadline = Date.now() + 300_000;
  for (;;) {
    const written = await readFile(record, "utf8").catch(() => null);
    if (written) return JSON.parse(written) as { location: string; built: T };
    if (await mkdir(claim).then(() => true, () => false)) {
      try {
        const attempt = `${id}_${randomBytes(3).toString("hex")}`;
        const template = await buildTemplate(state, process.env.TEST_DATABASE_URL ? `${prefix}${attempt}` : path.join(folder, attempt), build);
        await writeFile(`${record}.partial`, JSON.stringify(template));
        await rename(`${record}.partial`, record);
        return template;
      } catch (error) {
        await rm(claim, { recursive: true, force: true });
        throw error;
      }
    }
    if (Date.now() > deadline) throw new Error(`the database template "${state}" was not built within 5 minutes`);
    await sleep(100);
  }
}

async function buildTemplate<T>(state: string, location: string, build: (db: Database) => Promise<T>): Promise<{ location: string; built: T }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) await asAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE ${location}`));
  // A new PGlite folder costs an initdb (over a second): every other template starts as a copy of the empty one.
  else if (state !== EMPTY) await cp((await templateOf(EMPTY, async () => null)).location, location, { recursive: true });
  const db = await openDatabase(serverUrl ? { url: databaseUrl(serverUrl, location), poolSize: 2 } : { dataDir: location });
  try {
    return { location, built: await build(db) };
  } finally {
    // Closed before anyone copies it: PGlite flushes its files, and PostgreSQL clones only a database no one is connected to.
    await db.close();
  }
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
