import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAgentToken } from "../src/auth/tokens.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { createGateway } from "../src/gateway.js";
import { BENCH_WORKSPACE_ID, benchAgentId } from "../bench/workspace.js";
import { freshDatabase, onPostgres, TEST_JWT_SECRET, testConfig } from "./helpers.js";

// The benchmark's own tools (bench/README.md), run as the README runs them, on a small workspace:
// `bench:data` must write what it says, with counters that agree with its messages; `bench`,
// `bench:cpu` and `bench:subscriptions` must measure what they are given without an error. Their
// figures are not asserted here.

const root = path.resolve(import.meta.dirname, "..");
const run = promisify(execFile);
const SCALE = { agents: 5, contacts: 300, conversations: 3000, messages: 30000 };

/** The database the scripts write to: a fresh one on the PostgreSQL server, or a PGlite folder. */
let env: NodeJS.ProcessEnv;
/** Opens it for the checks; PGlite's folder belongs to one process at a time, so close it after. */
let open: () => Promise<{ db: Database; close(): Promise<void> }>;
let drop: () => Promise<void>;
let generated: Record<string, unknown>;

/** Runs a benchmark script; the processes it starts share its stderr, and none may print an error there. */
const script = async (file: string, args: string[]) => {
  const output = await run(process.execPath, ["--import", "tsx", file, ...args], { cwd: root, env, timeout: 240_000, maxBuffer: 16 * 2 ** 20 });
  expect(output.stderr, file).not.toMatch(/Error/);
  return output;
};

beforeAll(async () => {
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  if (onPostgres) {
    const fresh = await freshDatabase();
    env = { ...inherited, DATABASE_URL: fresh.url };
    open = async () => ({ db: fresh.db, close: async () => undefined });
    drop = fresh.drop;
  } else {
    const dataDir = mkdtempSync(path.join(tmpdir(), "inbox-bench-test-"));
    env = { ...inherited, DATA_DIR: dataDir };
    open = async () => {
      const db = await openDatabase({ dataDir });
      return { db, close: () => db.close() };
    };
    drop = () => rm(dataDir, { recursive: true, force: true });
  }
  const args = Object.entries(SCALE).flatMap(([flag, n]) => [`--${flag}`, String(n)]);
  const { stdout } = await script("bench/data.ts", args);
  generated = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}, 300_000);

afterAll(async () => {
  await drop?.();
});

async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const { db, close } = await open();
  try {
    return await fn(db);
  } finally {
    await close();
  }
}

describe("npm run bench:data", () => {
  it("writes exactly the workspace it is asked for and says how long it took", () => {
    expect(generated).toMatchObject({ workspaceId: BENCH_WORKSPACE_ID, ...SCALE });
    expect(generated.seconds).toEqual(expect.any(Number));
  });

  it("keeps every conversation's counters in agreement with its messages", async () => {
    await withDatabase(async (db) => {
      const query = <T>(sql: string) => db.withSession((s) => s.query<T>(sql, [BENCH_WORKSPACE_ID]));
      // Worked out here per conversation, independently of the generator's set-based UPDATE.
      const [mismatches] = await query<{ count: number; unread: number }>(`
        SELECT count(*) FILTER (WHERE c."messageCount" <> x.total OR c."lastMessageAt" IS DISTINCT FROM x.last_at)::int AS count,
               count(*) FILTER (WHERE c."unreadCount" <> CASE WHEN c."status" = 'OPEN' THEN x.unread_after_reply ELSE 0 END)::int AS unread
        FROM "Conversation" c
        CROSS JOIN LATERAL (
          SELECT count(m.*)::int AS total, max(m."createdAt") AS last_at,
            count(*) FILTER (WHERE m."direction" = 'INBOUND' AND m."createdAt" > coalesce(
              (SELECT max(o."createdAt") FROM "Message" o WHERE o."conversationId" = c."id" AND o."direction" = 'OUTBOUND'), '-infinity'))::int AS unread_after_reply
          FROM "Message" m WHERE m."conversationId" = c."id") x
        WHERE c."workspaceId" = $1`);
      expect(mismatches).toEqual({ count: 0, unread: 0 });
      // Realistic enough for the scenarios: long conversations for the detail page, unread ones for the badges.
      const [shape] = await query<{ long: number; unread: number; open: number }>(`
        SELECT count(*) FILTER (WHERE "messageCount" >= 30)::int AS long, count(*) FILTER (WHERE "unreadCount" > 0)::int AS unread,
               count(*) FILTER (WHERE "status" = 'OPEN')::int AS open
        FROM "Conversation" WHERE "workspaceId" = $1`);
      expect(shape.long).toBeGreaterThan(0);
      expect(shape.unread).toBeGreaterThan(0);
      expect(shape.open).toBeGreaterThan(SCALE.conversations / 3);
    });
  });

  it("leaves the sidebar's tallies agreeing with the conversations, as the gateway reads them", async () => {
    await withDatabase(async (db) => {
      const gateway = await createGateway(testConfig(), { db });
      try {
        const token = signAgentToken(TEST_JWT_SECRET, { agentId: benchAgentId(1), workspaceId: BENCH_WORKSPACE_ID, role: "ADMIN" });
        const response = await gateway.fetch("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: "{ conversationCounts { total open closed archived } }" }),
        });
        const { data } = (await response.json()) as { data: { conversationCounts: Record<string, number> } };
        const [counted] = await db.withSession((s) =>
          s.query<Record<string, number>>(
            `SELECT count(*)::int AS total, count(*) FILTER (WHERE "status" = 'OPEN')::int AS open,
                    count(*) FILTER (WHERE "status" = 'CLOSED')::int AS closed, count(*) FILTER (WHERE "status" = 'ARCHIVED')::int AS archived
             FROM "Conversation" WHERE "workspaceId" = $1`,
            [BENCH_WORKSPACE_ID],
          ),
        );
        expect(data.conversationCounts).toEqual(counted);
        expect(counted.total).toBe(SCALE.conversations);
      } finally {
        await gateway.close();
      }
    });
  });
});

describe("npm run bench", () => {
  it("measures each scenario it is given over HTTP, with its statements, and the yardsticks on PostgreSQL", async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "inbox-bench-results-")), "results.json");
    const scenarios = ["inbox", "filtered", "detail", "counts", "writes"];
    const { stdout } = await script("bench/run.ts", ["--scenarios", scenarios.join(","), "--concurrency", "2", "--duration", "1", "--warmup", "1", "--out", out]);
    const report = JSON.parse(readFileSync(out, "utf8")) as {
      results: {
        scenario: string;
        statementsPerRequest: number;
        gateway: { requests: number; errors: number; cpuMsPerRequest: number | null; databaseCpuMsPerRequest: number | null };
        raw: { requests: number; cpuMsPerRequest: number | null; databaseCpuMsPerRequest: number | null } | null;
        endpoint: { requests: number; errors: number } | null;
        ratio: number | null;
        endpointRatio: number | null;
      }[];
      plans: Record<string, string[]>;
    };
    await rm(path.dirname(out), { recursive: true, force: true });

    expect(report.results.map((r) => r.scenario)).toEqual(scenarios);
    for (const row of report.results) {
      expect(row.gateway.requests, row.scenario).toBeGreaterThan(0);
      expect(row.gateway.errors, row.scenario).toBe(0);
      expect(row.gateway.cpuMsPerRequest, row.scenario).toBeGreaterThan(0);
    }
    // The database server's CPU is counted where it is a process of this machine, as in CI; PGlite
    // runs inside the gateway.
    const serverHere = await withDatabase(async (db) => {
      if (db.kind === "pglite") return false;
      const [{ pid }] = await db.prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      return readFile(`/proc/${pid}/stat`, "utf8").then((stat) => stat.startsWith(`${pid} (postgres)`), () => false);
    });
    for (const row of report.results) {
      if (serverHere) expect(row.gateway.databaseCpuMsPerRequest, row.scenario).toBeGreaterThan(0);
      else if (!onPostgres) expect(row.gateway.databaseCpuMsPerRequest, row.scenario).toBeNull();
    }
    const of = (name: string) => report.results.find((r) => r.scenario === name)!;
    expect([of("inbox"), of("filtered"), of("detail"), of("counts")].map((r) => r.statementsPerRequest)).toEqual([1, 1, 2, 1]);
    expect(report.plans.inbox!.join("\n")).toContain("Index Scan using \"Conversation_inbox_status_idx\"");
    // The yardsticks replay through `pg` against a server: they run on PostgreSQL only.
    for (const name of ["inbox", "filtered", "detail"]) {
      const row = of(name);
      if (onPostgres) {
        expect(row.raw!.requests, name).toBeGreaterThan(0);
        expect(row.raw!.cpuMsPerRequest, name).toBeGreaterThan(0);
        if (serverHere) expect(row.raw!.databaseCpuMsPerRequest, name).toBeGreaterThan(0);
        expect(row.endpoint!.requests, name).toBeGreaterThan(0);
        expect(row.endpoint!.errors, name).toBe(0);
        expect(row.ratio, name).toBeGreaterThan(0);
        expect(row.endpointRatio, name).toBeGreaterThan(0);
      } else {
        expect([row.raw, row.endpoint], name).toEqual([null, null]);
      }
    }
    expect(stdout).toContain("1. inbox page (50 open, contact, assignee)");
  }, 240_000);

  it("bench:cpu prints the gateway's CPU per request in-process, round by round and their median", async () => {
    const { stdout } = await script("bench/cpu.ts", ["detail", "--requests", "20", "--rounds", "2"]);
    for (const concurrency of [1, 10]) {
      const lines = stdout.split("\n").filter((line) => line.startsWith(`detail  ${concurrency} at a time  CPU `));
      expect(lines, stdout).toHaveLength(3);
      expect(lines[0]).toMatch(/CPU \d+\.\d\d ms\/request {2}wall \d+\.\d\d ms\/request {2}\(round 1\)$/);
      expect(lines[2]).toMatch(/CPU median \d+\.\d\d ms\/request, range \d+\.\d\d to \d+\.\d\d over 2 rounds$/);
    }
  }, 240_000);

  it.runIf(onPostgres)("bench:cpu --against takes turns with another checkout's gateway and prints each round, both medians and their ratio", async () => {
    const { stdout } = await script("bench/cpu.ts", ["inbox", "--requests", "20", "--rounds", "2", "--against", "."]);
    const lines = stdout.split("\n").filter((line) => line.startsWith("inbox  10 at a time  "));
    expect(lines, stdout).toHaveLength(5);
    expect(lines[1]).toMatch(/CPU this checkout \d+\.\d\d, \. \d+\.\d\d ms\/request {2}\(round 2\)$/);
    expect(lines[3]).toMatch(/CPU \. median \d+\.\d\d ms\/request, range \d+\.\d\d to \d+\.\d\d over 2 rounds$/);
    expect(lines[4]).toMatch(/this checkout \/ \. per round: median \d+\.\d\d, range \d+\.\d\d to \d+\.\d\d over 2 rounds$/);
  }, 240_000);

  it.skipIf(onPostgres)("bench:cpu --against on PGlite says it needs PostgreSQL", async () => {
    await expect(script("bench/cpu.ts", ["inbox", "--requests", "20", "--against", "."])).rejects.toThrow(/set DATABASE_URL to a PostgreSQL database/);
  });
});

describe("npm run bench:subscriptions", () => {
  it("delivers every event to every subscriber and prints the latency and memory figures", async () => {
    const { stdout } = await script("bench/subscriptions.ts", ["--subscribers", "50", "--per-socket", "10", "--events", "5", "--rate", "20"]);
    expect(stdout).toContain("50 subscribers on 5 sockets, 5 events, 250 deliveries");
    expect(stdout).toMatch(/latency commit → client: p50 \d+ ms, p99 \d+ ms/);
    expect(stdout).toMatch(/gateway memory per idle subscriber: heap -?[\d.]+ KB/);
  }, 240_000);
});
