import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { onPostgres } from "./helpers.js";
import { query, runScript, startServerProcess } from "./server-process.js";

// The operator's commands, run as real processes on a temporary PGlite folder each, as the README
// runs them. Apart from test/process.test.ts, so that the two run side by side. They use PGlite in
// either suite, so the PostgreSQL run leaves them to the PGlite run (npm run token on PostgreSQL:
// test/token-cli.test.ts).
const root = path.resolve(import.meta.dirname, "..");

describe.skipIf(onPostgres)("npm run db:migrate and db:seed", () => {
  const cli = (args: string[], dir: string) => runScript("src/db/cli.ts", args, { DATABASE_URL: "", DATA_DIR: dir });

  it("migrate applies every migration once, seed adds the demo workspace, anything else prints the usage", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "inbox-db-cli-"));
    const migrations = readdirSync(path.join(root, "prisma", "migrations"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const first = await cli(["migrate"], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`Applied ${migrations.join(", ")}`);
    const again = await cli(["migrate"], dir);
    expect(again.stdout.trim()).toBe("Migrations are up to date.");
    const seeded = await cli(["seed"], dir);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/^Migrations are up to date\.\nSeeded/);

    const db = await openDatabase({ dataDir: dir });
    try {
      expect(await db.prisma.workspace.count()).toBe(1);
      expect(await db.prisma.conversation.count()).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
    const twice = await cli(["seed"], dir);
    expect(twice.stdout).toContain("The demo workspace is already there; nothing seeded.");
    const wrong = await cli(["drop"], dir);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toContain("usage: tsx src/db/cli.ts migrate|seed");
  }, 120_000);
});

describe.skipIf(onPostgres)("npm run workspace and npm run agent: a way in without demo data", () => {
  const run = (command: string, args: string[], dir: string) =>
    runScript("src/db/agents-cli.ts", [command, ...args], { DATABASE_URL: "", DATA_DIR: dir, SEED_DEMO_DATA: "never", JWT_SECRET: "" });

  it("creates a workspace with its admin, whose token works; adds, demotes and deactivates agents; says what is wrong", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "inbox-agents-cli-"));
    const created = await run("workspace", ["--name", "Acme", "--admin-name", "Ada Lovelace", "--admin-email", "Ada@Acme.example"], dir);
    expect(created.code, created.stderr).toBe(0);
    const { workspaceId, adminId } = JSON.parse(created.stdout) as { workspaceId: string; adminId: string };
    expect(created.stderr).toContain(`npm run -s token -- --agent ${adminId}`);

    const added = await run("agent", ["--workspace", workspaceId, "--name", "Grace Hopper", "--email", "grace@acme.example"], dir);
    expect(added.code, added.stderr).toBe(0);
    const grace = JSON.parse(added.stdout) as { id: string; role: string; active: boolean };
    expect(grace).toMatchObject({ role: "AGENT", active: true });
    const again = await run("agent", ["--workspace", workspaceId, "--name", "Grace H.", "--email", "GRACE@acme.example"], dir);
    expect(again.code).toBe(65);
    expect(again.stderr).toContain("CONFLICT: An agent with the email grace@acme.example is already in this workspace.");
    // The addresses the API's EmailAddress scalar takes, no others.
    const badEmail = await run("agent", ["--workspace", workspaceId, "--name", "Linus", "--email", "linus at acme"], dir);
    expect(badEmail.code).toBe(65);
    expect(badEmail.stderr).toContain("BAD_USER_INPUT: email must be an email address.");
    expect((await run("agent", ["--agent", grace.id, "--role", "viewer", "--deactivate"], dir)).code).toBe(0);
    expect((await run("agent", ["--agent", "agt_doesnotexist0000", "--activate"], dir)).stderr).toContain('NOT_FOUND: No agent with id "agt_doesnotexist0000".');
    expect((await run("agent", ["--name", "Nobody"], dir)).code).toBe(64);

    // The admin's token, from npm run token, opens the gateway on that database; Grace's is refused.
    const token = await runScript("src/auth/cli.ts", ["--agent", adminId], { DATABASE_URL: "", DATA_DIR: dir, JWT_SECRET: "" });
    expect(token.code, token.stderr).toBe(0);
    expect((await runScript("src/auth/cli.ts", ["--agent", grace.id], { DATABASE_URL: "", DATA_DIR: dir, JWT_SECRET: "" })).code).toBe(65);
    const server = await startServerProcess({ dataDir: dir, env: { SEED_DEMO_DATA: "never" } });
    try {
      const answer = await query(Number(server.url.port), token.stdout.trim(), `{ viewer { id role } agents { name role active } }`);
      expect(answer.data.viewer).toEqual({ id: adminId, role: "ADMIN" });
      expect(answer.data.agents).toEqual(
        expect.arrayContaining([
          { name: "Ada Lovelace", role: "ADMIN", active: true },
          { name: "Grace Hopper", role: "VIEWER", active: false },
        ]),
      );
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 240_000);
});
