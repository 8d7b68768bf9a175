import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { developmentSecret } from "../src/auth/tokens.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData } from "../src/db/seed.js";
import { createGateway } from "../src/gateway.js";
import { freshDatabase, onPostgres, TEST_JWT_SECRET, testConfig } from "./helpers.js";
import { runScript } from "./server-process.js";

// `npm run token` run as a real process against a seeded database (a PGlite folder, or a database
// on the PostgreSQL server of TEST_DATABASE_URL).
const dataDir = mkdtempSync(path.join(tmpdir(), "inbox-token-"));
let databaseUrl: string | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
let workspaceId: string;

/** The database the CLI uses, opened in this process only while the CLI is not running. */
const open = (): Promise<Database> => openDatabase(databaseUrl ? { url: databaseUrl, poolSize: 2 } : { dataDir });

beforeAll(async () => {
  if (onPostgres) {
    const fresh = await freshDatabase();
    databaseUrl = fresh.url;
    await fresh.db.close();
    dropDatabase = () => dropServerDatabase(fresh.url!);
  }
  const db = await open();
  await migrate(db);
  workspaceId = (await seedDemoData(db.prisma, { contacts: 2, conversations: 2 })).workspaceId;
  await db.close();
});
afterAll(async () => dropDatabase?.());

/** Drops a database made by freshDatabase after its own client was closed. */
async function dropServerDatabase(url: string) {
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  await admin.end();
}

const token = (args: string[], env: Record<string, string> = {}) =>
  runScript("src/auth/cli.ts", args, { NODE_ENV: "development", DATA_DIR: dataDir, DATABASE_URL: databaseUrl ?? "", JWT_SECRET: "", JWT_JWKS_URL: "", JWT_JWKS_FILE: "", ...env });

describe("npm run token", () => {
  it("prints a token for the first agent of a role, signed with JWT_SECRET, that the gateway accepts", async () => {
    const out = await token(["--role", "ADMIN"], { JWT_SECRET: TEST_JWT_SECRET, JWT_ISSUER: "inbox", JWT_AUDIENCE: "dash" });
    expect(out.code, out.stderr).toBe(0);
    const printed = out.stdout.trim();
    const claims = jwt.verify(printed, TEST_JWT_SECRET, { algorithms: ["HS256"], issuer: "inbox", audience: "dash" }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ workspaceId, role: "ADMIN" });
    expect(out.stderr).toContain(claims.sub!);

    const db = await open();
    try {
      const gateway = await createGateway(testConfig({ JWT_ISSUER: "inbox", JWT_AUDIENCE: "dash" }), { db });
      const res = await gateway.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${printed}` },
        body: JSON.stringify({ query: "{ viewer { id role } }" }),
      });
      expect(((await res.json()) as any).data.viewer).toEqual({ id: claims.sub, role: "ADMIN" });
      await gateway.close();
    } finally {
      await db.close();
    }
  });

  it("signs for a named agent with the development secret when JWT_SECRET is unset", async () => {
    const db = await open();
    const agent = await db.prisma.agent.findFirstOrThrow({ where: { workspaceId, role: "VIEWER" } });
    await db.close();
    const out = await token(["--agent", agent.id, "--expires", "5m"]);
    expect(out.code, out.stderr).toBe(0);
    const claims = jwt.verify(out.stdout.trim(), await developmentSecret(dataDir), { algorithms: ["HS256"] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: agent.id, workspaceId, role: "VIEWER" });
    expect(claims.exp! - claims.iat!).toBe(300);
  });

  it("says what is wrong: bad arguments, an unknown agent, a JWKS setup", async () => {
    expect((await token([])).code).toBe(64);
    const help = await token(["--help"]);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: npm run token/) });
    expect((await token(["--role", "OWNER"])).stderr).toMatch(/--role must be/);
    const unknown = await token(["--agent", "agt_0000000000000000"]);
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toMatch(/No active agent with id agt_0000000000000000/);
    const jwks = await token(["--role", "ADMIN"], { JWT_JWKS_URL: "https://id.example.test/jwks.json" });
    expect(jwks.code).toBe(78);
    expect(jwks.stderr).toMatch(/identity provider/);
  });

  it.skipIf(onPostgres)("refuses to open an embedded database another process has open", async () => {
    const db = await open();
    try {
      const out = await token(["--role", "ADMIN"]);
      expect(out.code).toBe(75);
      expect(out.stderr).toMatch(/open in another process/);
      // Another folder would hold another secret: the printed token is the way.
      expect(out.stderr).toMatch(/Use the development token that gateway printed/);
      expect(out.stderr).not.toMatch(/DATA_DIR/);
    } finally {
      await db.close();
    }
  });

  it("on a database that was never set up, says how to set it up, with no stack trace and no secret left behind", async () => {
    const empty = onPostgres ? await freshDatabase() : null;
    await empty?.db.close();
    const emptyDir = mkdtempSync(path.join(tmpdir(), "inbox-token-empty-"));
    try {
      const out = await token(["--role", "ADMIN"], { DATA_DIR: emptyDir, DATABASE_URL: empty?.url ?? "" });
      expect(out.code).toBe(66);
      expect(out.stderr.trim()).toBe(
        "This database has no tables yet. Start the gateway once (npm start), or run npm run db:migrate and then npm run workspace (or npm run db:seed) for a first admin.",
      );
      expect(out.stdout).toBe("");
      expect(readdirSync(emptyDir).filter((name) => /secret/i.test(name))).toEqual([]);
    } finally {
      if (empty) await dropServerDatabase(empty.url!);
    }
  });
});
