import { type ChildProcess, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData, type SeedResult } from "../src/db/seed.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import type { Database } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { freshDatabase, startTestGateway, TEST_JWT_SECRET, testConfig } from "./helpers.js";
import { overHttp, overWs, unreadTotalsOf, until, wsClient } from "./live.js";
import { signAgentToken } from "../src/auth/tokens.js";
import { freePort } from "./free-port.js";

// Several gateways on one database and one Redis, as in production. Needs TEST_REDIS_URL (any
// Redis; channels carry this run's random workspace ids) and, for the outage test, redis-server.
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) console.warn("subscriptions-redis.test.ts: TEST_REDIS_URL is not set; the Redis tests are skipped");

const EVENTS = `subscription { conversationEvents { type conversation { id unreadCount } } }`;
const TOTALS = `subscription { unreadTotals { unreadConversations unreadMessages } }`;
const UNREAD = `subscription { unreadCountChanged { conversationId unreadCount } }`;
type Event = { conversationEvents: { type: string; conversation: { id: string; unreadCount: number } } };
type Unread = { unreadCountChanged: { conversationId: string; unreadCount: number } };
type Totals = { unreadTotals: { unreadConversations: number; unreadMessages: number } };

let db: Database;
let drop: () => Promise<void>;
let seed: SeedResult;
let token: string;
const gateways: Gateway[] = [];

beforeAll(async () => {
  if (!redisUrl) return;
  ({ db, drop } = await freshDatabase());
  await migrate(db);
  seed = await seedDemoData(db.prisma, { contacts: 10, conversations: 40 });
  const admin = await db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seed.workspaceId, role: "ADMIN" } });
  token = signAgentToken(TEST_JWT_SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role });
});
afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await drop?.();
});

async function gatewayOn(url: string, lines: string[] = [], settings: Record<string, string> = {}) {
  const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
  const gateway = await createGateway(testConfig({ REDIS_URL: url, ...settings }), { db, log });
  gateways.push(gateway);
  return { gateway, url: await gateway.listen(0, "127.0.0.1") };
}

let externalIds = 0;
const receive = (url: URL, conversationId: string) =>
  overHttp(url, token, `mutation($i: ReceiveMessageInput!) { receiveMessage(input: $i) { id conversation { unreadCount } } }`, {
    i: { conversationId, body: "over redis", externalId: `redis-${++externalIds}` },
  });
const countsOf = (url: URL) => unreadTotalsOf(url, token);
const taken = new Set<string>();
async function conversation() {
  const rows = await db.prisma.conversation.findMany({ where: { workspaceId: seed.workspaceId, unreadCount: 0 }, orderBy: { id: "asc" } });
  const row = rows.find((r) => !taken.has(r.id))!;
  taken.add(row.id);
  return row;
}

/** /ready's status and the redis_connected gauge of a listening gateway. */
async function redisHealth(url: URL) {
  const ready = (await fetch(new URL("/ready", url))).status;
  const metrics = await (await fetch(new URL("/metrics", url))).text();
  return { ready, redisConnected: Number(/^redis_connected (\d+)$/m.exec(metrics)?.[1]) };
}

/** A throwaway redis-server of our own, to stop and start again. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  probe.on("error", () => undefined); // refused until the server listens: retried
  await probe.ping();
  probe.disconnect();
  return child;
}

describe.skipIf(!redisUrl)("across gateways through Redis", () => {
  it("a mutation sent to one gateway reaches a subscriber of another", async () => {
    const first = await gatewayOn(redisUrl!);
    const second = await gatewayOn(redisUrl!);
    expect(first.gateway.bus.status()).toBe("connected");
    const client = wsClient(second.url, token);
    const events = overWs<Event>(client, EVENTS);
    const totals = overWs<Totals>(client, TOTALS);
    const before = (await totals.next()).unreadTotals;
    await until(() => second.gateway.feeds.stats().subscribers === 2, "the subscriptions");

    const conv = await conversation();
    await receive(first.url, conv.id);
    expect((await events.next()).conversationEvents).toEqual({ type: "MESSAGE_RECEIVED", conversation: { id: conv.id, unreadCount: 1 } });
    expect((await totals.next()).unreadTotals).toEqual({ unreadConversations: before.unreadConversations + 1, unreadMessages: before.unreadMessages + 1 });
    await client.dispose();
  });

  it("REDIS_PREFIX keeps deployments that share one Redis apart: another prefix's events do not cross", async () => {
    const ours = await gatewayOn(redisUrl!);
    const theirs = await gatewayOn(redisUrl!, [], { REDIS_PREFIX: "another-deployment" });
    const client = wsClient(theirs.url, token);
    const events = overWs<Event>(client, EVENTS);
    await until(() => theirs.gateway.feeds.stats().subscribers === 1, "the subscription");
    const elsewhere = await conversation();
    await receive(ours.url, elsewhere.id);
    // A change written through the other deployment arrives; the first one never does.
    const own = await conversation();
    await receive(theirs.url, own.id);
    expect((await events.next()).conversationEvents.conversation.id).toBe(own.id);
    await client.dispose();
  });

  it("Redis going away: writes still succeed, local subscribers still hear them, and when it returns feeds catch up on what they missed", async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const logs: string[] = [];
    const a = await gatewayOn(`redis://127.0.0.1:${port}`, logs);
    const b = await gatewayOn(`redis://127.0.0.1:${port}`);
    // Written before the subscriptions began: never theirs, not even in the catch-up after the outage.
    await receive(b.url, (await conversation()).id);
    const client = wsClient(a.url, token);
    const events = overWs<Event>(client, EVENTS);
    const unread = overWs<Unread>(client, UNREAD);
    const totals = overWs<Totals>(client, TOTALS);
    const first = (await totals.next()).unreadTotals;
    await until(() => a.gateway.feeds.stats().subscribers === 3, "the subscriptions");

    redis.kill("SIGKILL");
    await new Promise((resolve) => redis.once("exit", resolve));
    await until(() => a.gateway.bus.status() === "down" && b.gateway.bus.status() === "down", "both gateways to notice");
    // Still ready (its own feeds work), and the gauge says what is missing.
    expect(await redisHealth(a.url)).toEqual({ ready: 200, redisConnected: 0 });

    // A write on the subscriber's own gateway commits and is delivered locally.
    const local = await conversation();
    const written = await receive(a.url, local.id);
    expect(written.receiveMessage.conversation.unreadCount).toBe(1);
    expect((await events.next()).conversationEvents.conversation.id).toBe(local.id);
    expect((await unread.next()).unreadCountChanged).toEqual({ conversationId: local.id, unreadCount: 1 });
    expect((await totals.next()).unreadTotals).toEqual({ unreadConversations: first.unreadConversations + 1, unreadMessages: first.unreadMessages + 1 });
    // A write on the other gateway commits too; its event cannot cross while Redis is down.
    const remote = await conversation();
    await receive(b.url, remote.id);
    expect((await db.prisma.conversation.findUniqueOrThrow({ where: { id: remote.id } })).unreadCount).toBe(1);
    expect(logs.some((line) => /"level":40.*redis unavailable/.test(line))).toBe(true);
    // A subscriber that joins after that write does not get it in the catch-up either.
    const late = overWs<Event>(client, EVENTS);
    await until(() => a.gateway.feeds.stats().subscribers === 4, "the late subscription");

    redis = await startRedis(port);
    // On reconnect the badge is recomputed, so it includes what was missed meanwhile...
    expect((await totals.next()).unreadTotals).toEqual(await countsOf(a.url));
    expect((await countsOf(a.url)).unreadMessages).toBe(first.unreadMessages + 2);
    // ...and the other gateway's write is read back from the database and delivered, once: the
    // local one, already delivered, is not sent again.
    expect((await events.next()).conversationEvents).toEqual({ type: "MESSAGE_RECEIVED", conversation: { id: remote.id, unreadCount: 1 } });
    expect((await unread.next()).unreadCountChanged).toEqual({ conversationId: remote.id, unreadCount: 1 });
    await until(() => a.gateway.bus.status() === "connected" && b.gateway.bus.status() === "connected", "both gateways to reconnect");
    await a.gateway.bus.ready();
    expect(await redisHealth(a.url)).toEqual({ ready: 200, redisConnected: 1 });

    // And events cross again.
    const after = await conversation();
    await receive(b.url, after.id);
    expect((await events.next()).conversationEvents.conversation.id).toBe(after.id);
    expect((await unread.next()).unreadCountChanged.conversationId).toBe(after.id);
    expect((await late.next()).conversationEvents.conversation.id).toBe(after.id);
    expect(logs.some((line) => /redis is back/.test(line))).toBe(true);
    await client.dispose();
    for (const gateway of [a.gateway, b.gateway]) {
      await gateway.close();
      gateways.splice(gateways.indexOf(gateway), 1);
    }
    redis.kill("SIGKILL");
  });
});

describe("a REDIS_URL where no Redis answers", () => {
  it("keeps the instance out of rotation (/ready 503) with redis_connected 0, rather than splitting the live feeds unnoticed", async () => {
    const t = await startTestGateway({ seed: false, config: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
    try {
      const url = await t.gateway.listen(0, "127.0.0.1");
      expect(await redisHealth(url)).toEqual({ ready: 503, redisConnected: 0 });
      expect((await fetch(new URL("/health", url))).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
