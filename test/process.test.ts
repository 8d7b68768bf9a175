import { spawn } from "node:child_process";
import { Agent, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { CONVERSATION_CHANGED, type ConversationChanged } from "../src/realtime/events.js";
import { freePort } from "./free-port.js";
import { freshDatabase, onPostgres } from "./helpers.js";
import { until } from "./live.js";
import { query, runScript, startServerProcess, type ServerProcess } from "./server-process.js";

// Starts the real server the way the README does (`npm start`: node --import tsx src/main.ts) on a
// temporary DATA_DIR: first start migrates and seeds, SIGTERM stops it cleanly, a second start
// finds the same data.
const root = path.resolve(import.meta.dirname, "..");
const dataDir = mkdtempSync(path.join(tmpdir(), "inbox-e2e-"));
const servers: ServerProcess[] = [];
// A test that fails half-way leaves its server running on the shared folder, and its retry and the
// tests after it would find the folder taken (exit 75): stopped here, with SIGTERM, which frees the
// folder at once (after SIGKILL its lock takes 10 s to go stale).
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
}, 60_000);

async function start(port: number) {
  const server = await startServerProcess({ dataDir, port });
  servers.push(server);
  return server;
}

interface Answer {
  status: number;
  /** The response's Connection header. */
  connection: string | undefined;
  body: string;
  /** Whether it went on a connection `agent` had kept open from an earlier request. */
  reused: boolean;
}

/** One request on `agent`'s connections, read to its end; rejects on a reset or a refused connection. */
function send(agent: Agent, url: URL, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: init.method ?? "GET", headers: init.headers, agent }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, connection: response.headers.connection, body, reused: request.reusedSocket }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(init.body);
  });
}

/**
 * A query the server has begun (it answered `Expect: 100-continue`, which it does once it has the
 * headers and hands the request on) and cannot finish before `finish` sends the body.
 */
async function heldRequest(server: ServerProcess) {
  const request = httpRequest(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.token}`, expect: "100-continue" },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on("response", (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, body }));
    });
    request.on("error", reject);
  });
  request.flushHeaders();
  await Promise.race([new Promise((resolve) => request.once("continue", resolve)), answer]);
  return { answer, finish: () => request.end(JSON.stringify({ query: "{ conversationCounts { total } }" })) };
}

const exited = (server: ServerProcess) => new Promise<number | null>((resolve) => server.child.once("exit", resolve));
/** SIGTERM, and back once the server has begun to shut down (it logs that, then starts at once), with its exit code to come. */
async function terminate(server: ServerProcess): Promise<{ exit: Promise<number | null> }> {
  const exit = exited(server);
  server.child.kill("SIGTERM");
  await until(() => server.logs().includes('"msg":"shutting down"'), "the shutdown to begin");
  return { exit };
}

// These start the server on its PGlite folder, as `npm start` does, whichever suite runs them: in
// the PostgreSQL run they would repeat the PGlite run's work, so only the tests that give the
// process a PostgreSQL database run there.
const onItsPgliteFolder = it.skipIf(onPostgres);

describe("the real server process", () => {
  onItsPgliteFolder("starts, seeds, serves GraphiQL and queries, stops on SIGTERM, and keeps its data", async () => {
    // A port the system has just handed out as free, not one picked at random: a random one can be
    // a port some client connection on the machine holds. The restart below reuses it.
    const port = await freePort();
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
    // The wait for the seed is said before it, then what it wrote.
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.indexOf("seeding demo data")).toBeGreaterThanOrEqual(0);
    expect(messages.indexOf("seeding demo data")).toBeLessThan(messages.indexOf("seeded demo data"));

    expect(await first.stop()).toBe(0);

    const second = await start(port);
    expect(second.logs()).not.toMatch(/seeded demo data/);
    expect(second.logs()).not.toMatch(/seeding demo data/);
    const after = await query(port, second.token, `{ conversationCounts { total open } contacts { totalCount } agents { id } }`);
    expect(after.data).toEqual(before.data);
    expect(await second.stop()).toBe(0);
  }, 180_000);

  onItsPgliteFolder("on SIGTERM finishes a request still in flight before it exits; SHUTDOWN_TIMEOUT_MS bounds the wait", async () => {
    /** A POST whose body arrives in two parts, the second only when `finish` is called. */
    const halfSent = (server: ServerProcess) => {
      const body = JSON.stringify({ query: "{ conversationCounts { total } }" });
      let pending = () => {};
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` } }, (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on("error", reject);
        req.write(body.slice(0, 10));
        pending = () => req.end(body.slice(10));
      });
      return { answer, finish: () => pending() };
    };
    const exited = (server: ServerProcess) => new Promise<number | null>((resolve) => server.child.once("exit", resolve));
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    const server = await start(0);
    const inFlight = halfSent(server);
    // Time for the server to accept the connection and read the first part, even on a loaded machine.
    await pause(1000);
    const exit = exited(server);
    server.child.kill("SIGTERM");
    await pause(500);
    expect(server.child.exitCode).toBeNull();
    inFlight.finish();
    const answer = await inFlight.answer;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data.conversationCounts.total).toBeGreaterThan(0);
    expect(await exit).toBe(0);

    // LOG_LEVEL=warn as well: the timeout is the one line this server may write.
    const bounded = await startServerProcess({ dataDir, env: { SHUTDOWN_TIMEOUT_MS: "1000", LOG_LEVEL: "warn" } });
    servers.push(bounded);
    const stuck = halfSent(bounded);
    stuck.answer.catch(() => undefined);
    // Time for the server to accept the connection and read the first part, even on a loaded machine.
    await pause(1000);
    const stopped = exited(bounded);
    const signalled = Date.now();
    bounded.child.kill("SIGTERM");
    expect(await stopped).toBe(1);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
    const lines = bounded.logs().trim().split("\n").map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.map((line) => [line.level, line.msg])).toEqual([[50, "shutdown timed out; exiting"]]);
  }, 240_000);

  onItsPgliteFolder("on SIGTERM answers /ready with 503 at once, while it finishes a request still in flight", async () => {
    const server = await start(0);
    const ready = new URL("/ready", server.url);
    // A load balancer's probe: one kept-alive connection.
    const probe = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await send(probe, ready)).toMatchObject({ status: 200, reused: false });
      const inFlight = await heldRequest(server);
      const { exit } = await terminate(server);
      expect(await send(probe, ready)).toMatchObject({ status: 503, reused: true, connection: "close" });
      inFlight.finish();
      const answer = await inFlight.answer;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).data.conversationCounts.total).toBeGreaterThan(0);
      expect(await exit).toBe(0);
    } finally {
      probe.destroy();
    }
  }, 240_000);

  it("answers every request sent on a kept-alive connection during the drain, with Connection: close; each mutation answered with data is committed (and published), none answered with an error is", async () => {
    // On PostgreSQL too when the suite runs there; with TEST_REDIS_URL, events go through Redis.
    const database = onPostgres ? await freshDatabase() : null;
    const redisUrl = process.env.TEST_REDIS_URL;
    const run = `drain-${Date.now()}`;
    const server = await startServerProcess({
      dataDir: database ? mkdtempSync(path.join(tmpdir(), "inbox-drain-")) : dataDir,
      env: { ...(database && { DATABASE_URL: database.url! }), ...(redisUrl && { REDIS_URL: redisUrl, REDIS_PREFIX: run }) },
    });
    servers.push(server);
    const subscriber = redisUrl ? new Redis(redisUrl) : null;
    const published: ConversationChanged[] = [];
    const clients = Array.from({ length: 12 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    try {
      if (subscriber) {
        await subscriber.subscribe(`${run}:${CONVERSATION_CHANGED}`);
        subscriber.on("message", (_channel, message: string) => published.push(JSON.parse(message)));
      }
      const headers = { "content-type": "application/json", authorization: `Bearer ${server.token}` };
      const first = await send(clients[0]!, server.url, { method: "POST", headers, body: JSON.stringify({ query: "{ conversations(first: 1) { edges { node { id } } } }" }) });
      const conversationId: string = JSON.parse(first.body).data.conversations.edges[0].node.id;
      for (const client of clients.slice(1)) expect((await send(client, new URL("/health", server.url))).reused).toBe(false);

      const inFlight = [await heldRequest(server), await heldRequest(server)];
      const { exit } = await terminate(server);
      const receive = `mutation($input: ReceiveMessageInput!) { receiveMessage(input: $input) { id } }`;
      const answers = await Promise.all(
        clients.map((client, i) =>
          send(client, server.url, {
            method: "POST",
            headers,
            body: JSON.stringify({ query: receive, variables: { input: { conversationId, body: `sent during the drain (${i})`, externalId: `${run}-${i}` } } }),
          }),
        ),
      );
      const committed: string[] = [];
      const refused: string[] = [];
      answers.forEach((answer, i) => {
        expect(answer).toMatchObject({ reused: true, connection: "close" });
        const result = JSON.parse(answer.body) as { data?: { receiveMessage: { id: string } | null }; errors?: unknown[] };
        if (answer.status === 200 && !result.errors && result.data?.receiveMessage) committed.push(`${run}-${i}`);
        else {
          // Refused cleanly: a 503 with a GraphQL error the client may retry.
          expect(answer.status).toBe(503);
          expect(result.errors?.length).toBeGreaterThan(0);
          refused.push(`${run}-${i}`);
        }
      });
      expect(committed.length).toBeGreaterThan(0);
      for (const request of inFlight) {
        request.finish();
        expect((await request.answer).status).toBe(200);
      }
      expect(await exit).toBe(0);

      const db = database?.db ?? (await openDatabase({ dataDir }));
      try {
        const stored = await db.prisma.message.findMany({ where: { externalId: { startsWith: `${run}-` } }, select: { externalId: true } });
        expect(stored.map((m) => m.externalId).sort()).toEqual(committed.sort());
      } finally {
        if (!database) await db.close();
      }
      if (subscriber) {
        const received = () => published.filter((event) => event.conversationId === conversationId).length;
        await until(() => received() >= committed.length, "every committed mutation's event through Redis");
      }
    } finally {
      clients.forEach((client) => client.destroy());
      subscriber?.disconnect();
      await database?.drop();
    }
  }, 240_000);

  onItsPgliteFolder.each([
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
    // The value as given, to spot a typo.
    expect(stderr).toContain(value);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  }, 60_000);

  /** Runs src/main.ts until it exits by itself (or kills it after 60 s). */
  const runToExit = (env: Record<string, string>) => runScript("src/main.ts", [], { DATA_DIR: dataDir, ...env });

  onItsPgliteFolder("`npm start` stops on SIGTERM sent to npm: the gateway shuts down, not left running", async () => {
    const server = await startServerProcess({ dataDir, viaNpm: true, env: { GRAPHIQL: "off" } });
    servers.push(server);
    // Without GraphiQL the banner names the endpoint only.
    expect(server.console()).not.toContain("GraphiQL:");
    expect((await fetch(new URL("/health", server.url))).status).toBe(200);
    expect(await server.stop()).toBe(0);
    await expect(fetch(new URL("/health", server.url))).rejects.toThrow();
    expect(server.logs()).toMatch(/"msg":"stopped"/);
  }, 240_000);

  onItsPgliteFolder("with a REDIS_URL where nothing answers, says next to 'gateway ready' that it stays out of rotation", async () => {
    const server = await startServerProcess({ dataDir, env: { REDIS_URL: "redis://127.0.0.1:1" } });
    servers.push(server);
    // Logs go to stdout and the address lines the start waits for to stderr: on a busy machine one pipe runs behind the other.
    await until(() => /"level":40,.*"msg":"Redis has not answered yet: \/ready answers 503/.test(server.logs()), "the warning that Redis has not answered");
    expect((await fetch(new URL("/ready", server.url))).status).toBe(503);
    expect(await server.stop()).toBe(0);
  }, 240_000);

  onItsPgliteFolder("a second process on the same DATA_DIR is refused (75) while the first keeps serving; a taken port or an unreachable database is said plainly (69)", async () => {
    const first = await start(0);
    const second = await runToExit({ PORT: "0" });
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/open in another process/);
    expect(second.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect((await query(Number(first.url.port), first.token, `{ conversationCounts { total } }`)).data.conversationCounts.total).toBe(1000);
    expect(await first.stop()).toBe(0);

    const busy = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => busy.once("listening", resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      // Found before the database is touched: a new DATA_DIR is not even created.
      const fresh = path.join(mkdtempSync(path.join(tmpdir(), "inbox-port-")), "data");
      const taken = await runToExit({ PORT: String(port), HOST: "127.0.0.1", DATA_DIR: fresh });
      expect(taken.code).toBe(69);
      expect(taken.stderr).toContain(`Cannot listen on 127.0.0.1:${port} (EADDRINUSE): set PORT (and HOST) to a free address of this machine.`);
      expect(taken.stderr).not.toMatch(/at .*\.ts:\d+/);
      expect(existsSync(fresh)).toBe(false);
    } finally {
      busy.close();
    }
    // The folder was released on the way out: the next start gets it.
    expect(await (await start(0)).stop()).toBe(0);

    const unreachable = await runToExit({ DATABASE_URL: `postgresql://someone:secret@127.0.0.1:${port}/nowhere` });
    expect(unreachable.code).toBe(69);
    expect(unreachable.stderr).toContain(`Cannot open the PostgreSQL database at postgresql://someone:***@127.0.0.1:${port}/nowhere`);
    expect(unreachable.stderr).not.toContain("secret");
    expect(unreachable.stderr).not.toMatch(/at .*\.(ts|js):\d+/);
  }, 240_000);

  it.runIf(onPostgres)("a database role that may not create what the migrations need is said plainly (77), not as a stack trace", async () => {
    const empty = await freshDatabase();
    const role = `inbox_limited_${Date.now()}`;
    const url = new URL(empty.url!);
    try {
      await empty.db.withSession((session) => session.query(`CREATE ROLE ${role} LOGIN`));
      url.username = role;
      const refused = await runToExit({ DATABASE_URL: url.toString() });
      expect(refused.code).toBe(77);
      expect(refused.stderr).toContain("permission denied");
      expect(refused.stderr).toContain(`The role ${role} in DATABASE_URL`);
      expect(refused.stderr).not.toMatch(/at .*\.(ts|js):\d+/);
    } finally {
      await empty.db.withSession((session) => session.query(`DROP ROLE IF EXISTS ${role}`));
      await empty.drop();
    }
  }, 60_000);
});
