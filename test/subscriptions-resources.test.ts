import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers.js";
import { overWs, until, wsClient, type Feed } from "./live.js";

// Closing a subscription releases everything it held on the server: its registration in the
// feeds, its queue, its context. 1,000 subscriptions are opened and closed, twice (the first round
// warms up caches and JIT), and the second round must end where it started.
let t: TestGateway;
let url: URL;
let admin: string;
beforeAll(async () => {
  // One admin token holds all 1,000: no per-caller cap here.
  t = await startTestGateway({ seed: { contacts: 10, conversations: 30 }, config: { MAX_SUBSCRIPTIONS_PER_CALLER: "0" } });
  url = await t.gateway.listen(0, "127.0.0.1");
  admin = await t.token();
});
afterAll(() => t?.close());

const SOCKETS = 10;
const SUBSCRIPTIONS = 1_000;
const OPERATIONS = [
  `subscription { unreadTotals { unreadConversations unreadMessages } }`,
  `subscription { unreadCountChanged { conversationId unreadCount } }`,
  `subscription { conversationEvents(filter: { status: [OPEN] }) { type conversation { id } } }`,
];

const heapUsed = () => {
  global.gc?.();
  global.gc?.();
  return process.memoryUsage().heapUsed;
};

async function round() {
  const clients = Array.from({ length: SOCKETS }, () => wsClient(url, admin));
  const feeds: Feed<unknown>[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i++) feeds.push(overWs(clients[i % SOCKETS], OPERATIONS[i % OPERATIONS.length]));
  // Subscriptions register when the client starts reading: ask each for its first frame (only
  // the totals send one at once), then wait until all are registered.
  const firsts = feeds.map((feed, i) => (i % OPERATIONS.length === 0 ? feed.next() : null));
  await Promise.all(firsts);
  await until(() => t.gateway.feeds.stats().subscribers === SUBSCRIPTIONS, "1,000 registered subscriptions");
  const open = { stats: t.gateway.feeds.stats(), heap: heapUsed() };
  await Promise.all(feeds.map((feed) => feed.close()));
  await Promise.all(clients.map((client) => client.dispose()));
  await until(() => t.gateway.feeds.stats().subscribers === 0, "every subscription released");
  return open;
}

describe("resources", () => {
  it("1,000 subscriptions opened and closed leave no listener, registration or heap behind", async () => {
    expect(global.gc, "run with --expose-gc (vitest.config.ts)").toBeTypeOf("function");
    await round();
    const start = { stats: t.gateway.feeds.stats(), heap: heapUsed() };
    const open = await round();
    const end = { stats: t.gateway.feeds.stats(), heap: heapUsed() };
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
    console.log(
      `listeners/registrations: start ${JSON.stringify(start.stats)}, with 1,000 open ${JSON.stringify(open.stats)}, end ${JSON.stringify(end.stats)}\n` +
        `heap used: start ${mb(start.heap)}, with 1,000 open ${mb(open.heap)} (+${mb(open.heap - start.heap)}), end ${mb(end.heap)} (${end.heap >= start.heap ? "+" : ""}${mb(end.heap - start.heap)})`,
    );
    expect(open.stats).toEqual({ subscribers: 1_000, workspaces: 1, totalsKeys: 1, busListeners: 1 });
    expect(end.stats).toEqual({ subscribers: 0, workspaces: 0, totalsKeys: 0, busListeners: 1 });
    expect(end.stats).toEqual(start.stats);
    // Margin: 1 MB, or a quarter of what the 1,000 open subscriptions held, whichever is larger.
    const margin = Math.max(1024 * 1024, (open.heap - start.heap) / 4);
    expect(end.heap - start.heap).toBeLessThan(margin);
  });
});
