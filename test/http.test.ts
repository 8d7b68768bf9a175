import http from "node:http";
import { connect } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../src/gateway.js";
import { createLogger } from "../src/logger.js";
import { startTestGateway, testConfig, type TestGateway } from "./helpers.js";
import { until, wsClient } from "./live.js";

let t: TestGateway;
let url: URL;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 2, conversations: 2 } });
  url = await t.gateway.listen(0, "127.0.0.1");
});
afterAll(() => t?.close());

/** A POST of `{ __typename }` on `agent`'s connections: its status, and whether it reused an open connection. */
function post(agent: http.Agent, token: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode!, reused: request.reusedSocket }));
    });
    request.on("error", reject);
    request.end(JSON.stringify({ query: "{ __typename }" }));
  });
}

/** Whether a new TCP connection to the endpoint's port is refused. */
function refusesConnections(endpoint: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(endpoint.port), endpoint.hostname);
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });
}

describe("HTTP connections", () => {
  it("keeps an idle connection open past Node's 5 s default, so a load balancer's reused connection is not closed under it", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const token = await t.token();
      expect(await post(agent, token)).toEqual({ status: 200, reused: false });
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await post(agent, token)).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 20_000);
});

describe("shutting down", () => {
  it("with SHUTDOWN_DRAIN_MS, close() keeps accepting and serving that long, /ready at 503 and every answer closing its connection, then refuses connections", async () => {
    const drainMs = 5_000;
    const gateway = await createGateway(testConfig({ SHUTDOWN_DRAIN_MS: String(drainMs) }), { db: t.db });
    const base = await gateway.listen(0, "127.0.0.1");
    const get = (path: string) =>
      new Promise<{ status: number; connection?: string }>((resolve, reject) => {
        http.get(new URL(path, base), (response) => {
          response.resume();
          response.on("end", () => resolve({ status: response.statusCode!, connection: response.headers.connection }));
        }).on("error", reject);
      });
    const began = Date.now();
    const closed = gateway.close();
    expect(await get("/ready")).toEqual({ status: 503, connection: "close" });
    expect(await get("/health")).toEqual({ status: 200, connection: "close" });
    await closed;
    expect(Date.now() - began).toBeGreaterThanOrEqual(drainMs);
    await expect(get("/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("over graphql-ws, close() lets a mutation already running send its result and complete, then closes the socket with 1001; an operation sent after that began is not run", async () => {
    // The agent's standing, read at connection_init, is trusted from then on: on PGlite the
    // transaction held below holds the whole database, not only the conversation's row.
    const gateway = await createGateway(testConfig({ AGENT_RECHECK_MS: "600000" }), { db: t.db });
    const endpoint = await gateway.listen(0, "127.0.0.1");
    const closeCodes: number[] = [];
    const client = wsClient(endpoint, await t.token(), { onClosed: (event) => closeCodes.push((event as { code: number }).code) });
    // A socket closed first rejects an operation with the close event: kept as its code, to read plainly.
    const send = (id: string, priority: string) =>
      client
        .iterate({ query: `mutation($id: ID!) { updateConversationPriority(id: $id, priority: ${priority}) { id priority } }`, variables: { id } })
        .next()
        .catch((event: { code: number }) => ({ closedWith: event.code }));
    const typename = () => client.iterate({ query: "{ __typename }" }).next();
    const [running, late] = await t.db.prisma.conversation.findMany({ where: { workspaceId: t.seed!.workspaceId }, orderBy: { id: "asc" } });
    const lateBefore = late!.priority;
    let release = () => {};
    let closed: Promise<void> | undefined;
    let holder: Promise<void> | undefined;
    try {
      expect((await typename()).value).toEqual({ data: { __typename: "Query" } });
      // The mutation waits for the conversation's row until this transaction ends.
      await new Promise<void>((locked) => {
        holder = t.db.prisma.$transaction(
          async (tx) => {
            await tx.$queryRaw`SELECT "id" FROM "Conversation" WHERE "id" = ${running!.id} FOR UPDATE`;
            locked();
            await new Promise<void>((resolve) => (release = resolve));
          },
          { timeout: 60_000 },
        );
      });
      const answer = send(running!.id, running!.priority === "HIGH" ? "LOW" : "HIGH");
      // Answered on the same socket after the mutation was sent: the gateway has the mutation.
      expect((await typename()).value).toEqual({ data: { __typename: "Query" } });
      closed = gateway.close();
      // The listener closes just before the sockets' turn comes: from then on dispose has begun.
      await until(() => refusesConnections(endpoint), "the listener to close");
      const notRun = send(late!.id, lateBefore === "HIGH" ? "LOW" : "HIGH");
      release();
      const expected = running!.priority === "HIGH" ? "LOW" : "HIGH";
      expect(await answer).toEqual({ done: false, value: { data: { updateConversationPriority: { id: running!.id, priority: expected } } } });
      expect(await notRun).toEqual({ closedWith: 1001 });
      await closed;
      // The first socket closed (1000) once its query was done: the client connects lazily.
      expect(closeCodes).toEqual([1000, 1001]);
      expect((await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: running!.id } })).priority).toBe(expected);
      expect((await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: late!.id } })).priority).toBe(lateBefore);
    } finally {
      release();
      await holder;
      await (closed ?? gateway.close());
      await client.dispose();
    }
  });
});

describe("GET /ready", () => {
  it("answers a bare 503 when the database fails the check: its error is logged, never sent to whoever probes", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const gateway = await createGateway(testConfig(), { db: t.db, log: createLogger("warn", sink) });
    const ready = new URL("/ready", await gateway.listen(0, "127.0.0.1"));
    // The check reads the migrations' checksums: without that column the database refuses it.
    const moveColumn = (from: string, to: string) => t.db.prisma.$executeRawUnsafe(`ALTER TABLE "_prisma_migrations" RENAME COLUMN ${from} TO ${to}`);
    try {
      expect((await fetch(ready)).status).toBe(200);
      await moveColumn("checksum", "checksum_moved");
      const refused = await fetch(ready);
      expect(refused.status).toBe(503);
      expect(await refused.text()).toBe("");
      const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } });
      expect(logged).toEqual([expect.objectContaining({ level: 40, msg: "not ready: the readiness check failed" })]);
      expect(logged[0]!.err!.message).toMatch(/column "checksum" does not exist/);
    } finally {
      await moveColumn("checksum_moved", "checksum").catch(() => undefined);
      await gateway.close();
    }
    expect((await fetch(new URL("/ready", url))).status).toBe(200);
  });
});
