import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "./server-process.js";

// Starts the real server the way the README does (`npm start`, i.e. tsx src/main.ts) on a
// temporary DATA_DIR: first start migrates and seeds, SIGTERM stops it cleanly, a second start
// finds the same data.
const root = path.resolve(import.meta.dirname, "..");
const dataDir = mkdtempSync(path.join(tmpdir(), "inbox-e2e-"));
const servers: ServerProcess[] = [];
afterAll(() => servers.forEach((s) => s.child.exitCode === null && s.child.kill("SIGKILL")));

async function start(port: number) {
  const server = await startServerProcess({ dataDir, port });
  servers.push(server);
  return server;
}

async function query(port: number, token: string, q: string) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: q }),
  });
  return (await res.json()) as { data: any };
}

describe("the real server process", () => {
  it("starts, seeds, serves GraphiQL and queries, stops on SIGTERM, and keeps its data", async () => {
    const port = 41000 + Math.floor(Math.random() * 2000);
    const first = await start(port);
    expect(first.console()).toContain(`http://127.0.0.1:${port}/graphql`);
    expect(first.console()).toMatch(/pglite/);
    expect(first.token).toBeTruthy();

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);

    const before = await query(port, first.token, `{ conversationCounts { total open } contacts { totalCount } agents { id } }`);
    expect(before.data.conversationCounts.total).toBe(1000);
    expect(before.data.contacts.totalCount).toBe(200);
    expect(before.data.agents).toHaveLength(8);

    // Every log line is JSON; request lines carry a request id and never the token.
    const lines = first.logs().trim().split("\n");
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.some((l) => /"requestId"/.test(l))).toBe(true);
    expect(first.logs()).not.toContain(first.token);

    expect(await first.stop()).toBe(0);

    const second = await start(port);
    expect(second.logs()).not.toMatch(/seeded demo data/);
    const after = await query(port, second.token, `{ conversationCounts { total open } contacts { totalCount } agents { id } }`);
    expect(after.data).toEqual(before.data);
    expect(await second.stop()).toBe(0);
  }, 180_000);

  it.each([
    ["PORT", "not-a-port"],
    // Read while the gateway starts, not by loadConfig: the same clean stop all the same.
    ["PERSISTED_OPERATIONS", "/nonexistent/persisted-documents.json"],
  ])("refuses to start with a bad %s and names the variable", async (name, value) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: root,
      env: { ...process.env, [name]: value, DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(78);
    expect(stderr).toMatch(new RegExp(name));
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  }, 60_000);
});
