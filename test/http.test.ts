import http from "node:http";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../src/gateway.js";
import { createLogger } from "../src/logger.js";
import { startTestGateway, testConfig, type TestGateway } from "./helpers.js";

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
