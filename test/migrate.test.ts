import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/db/client.js";
import { migrate, pendingMigrations } from "../src/db/migrate.js";
import { freshDatabase, onPostgres } from "./helpers.js";

const dir = new URL("../prisma/migrations/", import.meta.url);
const onDisk = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

let fresh: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  fresh = await freshDatabase();
});
afterAll(() => fresh?.drop());

describe("in-process migrator", () => {
  it("applies every migration once, recorded the way Prisma records them", async () => {
    expect(await pendingMigrations(fresh.db)).toEqual(onDisk);
    expect((await migrate(fresh.db)).applied).toEqual(onDisk);
    expect((await migrate(fresh.db)).applied).toEqual([]);
    expect(await pendingMigrations(fresh.db)).toEqual([]);
    const rows = await fresh.db.prisma.$queryRaw<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }[]>`
      SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`;
    expect(rows.map((r) => r.migration_name)).toEqual(onDisk);
    for (const row of rows) {
      const sql = readFileSync(new URL(`${row.migration_name}/migration.sql`, dir));
      expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it.runIf(onPostgres)("lets several instances start at once: the advisory lock applies each migration once", async () => {
    const other = await freshDatabase();
    const instances: Database[] = await Promise.all([1, 2, 3].map(() => openDatabase({ url: other.url!, poolSize: 2 })));
    try {
      const results = await Promise.all(instances.map((db) => migrate(db)));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(onDisk);
    } finally {
      await Promise.all(instances.map((db) => db.close()));
      await other.drop();
    }
  });
});
