import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../src/graphql/operations.js";
import { startTestGateway, type TestGateway } from "./helpers.js";
import { createClient as createSseClient } from "graphql-sse";
import { subscribersOf, until, wsClient, type Feed } from "./live.js";

// Trusted documents and metrics on the live transports: graphql-ws bypasses Yoga's request
// pipeline, so the allow-list and the subscription gauge are checked over a real socket and a
// real SSE stream against a listening gateway in allow-list mode.
const MANIFEST = fileURLToPath(new URL("../src/graphql/operations/persisted-documents.json", import.meta.url));
const manifest = JSON.parse(readFileSync(MANIFEST, "utf8")) as Record<string, string>;
const hashOf = (name: string) => Object.keys(manifest).find((hash) => new RegExp(`^\\w+ ${name}\\b`).test(manifest[hash]!))!;
const byHash = (name: string) => ({ query: "", extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(name) } } });

let t: TestGateway;
let url: URL;
let ws: Client;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 10, conversations: 20 }, config: { PERSISTED_OPERATIONS: MANIFEST } });
  url = await t.gateway.listen(0, "127.0.0.1");
  ws = wsClient(url, await t.token());
});
afterAll(async () => {
  await ws?.dispose();
  await t?.close();
});

type Totals = { unreadTotals: { unreadConversations: number; unreadMessages: number } };

function wsFeed<T>(payload: { query: string; extensions?: Record<string, unknown>; variables?: Record<string, unknown> }): Feed<T> {
  const iterator = ws.iterate<T>(payload);
  return {
    iterator: iterator as Feed<T>["iterator"],
    async next() {
      const frame = await iterator.next();
      if (frame.done) throw new Error("the feed ended");
      return frame.value.data as T;
    },
    async close() {
      await iterator.return?.();
    },
  };
}

/** The graphql-ws error frame's codes: the client rejects with the errors the server sent. */
async function refusedCodes(feed: Feed<unknown>): Promise<unknown[]> {
  const errors = await feed.next().then(
    () => [],
    (error: unknown) => error as { extensions?: { code?: string } }[],
  );
  return errors.map((e) => e.extensions?.code);
}

async function openSubscriptions(): Promise<Record<string, number>> {
  const text = await (await t.gateway.fetch("/metrics")).text();
  return Object.fromEntries([...text.matchAll(/^graphql_subscriptions_open\{transport="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

/** Scrapes until the gauge shows `expected` (a closed stream is released asynchronously). */
async function gaugeBecomes(expected: Record<string, number>): Promise<void> {
  let last = await openSubscriptions();
  const deadline = Date.now() + 30_000;
  while (JSON.stringify(last) !== JSON.stringify(expected)) {
    if (Date.now() > deadline) throw new Error(`gauge stayed at ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await openSubscriptions();
  }
}

describe("trusted documents over the live transports", () => {
  it("runs a listed subscription by hash over graphql-ws and SSE, and the gauge counts each open one by transport", async () => {
    await gaugeBecomes({ sse: 0, websocket: 0 });
    const overSocket = wsFeed<Totals>(byHash("UnreadTotals"));
    const sse = createSseClient({ url: url.toString(), headers: { Authorization: `Bearer ${await t.token()}` }, retryAttempts: 0 });
    const overStream = sse.iterate<Totals>(byHash("UnreadTotals"));
    const first = await overSocket.next();
    // Ad-hoc queries are refused in this mode: the figures come from the table.
    const where = { workspaceId: t.seed!.workspaceId, unreadCount: { gt: 0 } };
    const { _count, _sum } = await t.db.prisma.conversation.aggregate({ where, _count: true, _sum: { unreadCount: true } });
    expect(first.unreadTotals).toEqual({ unreadConversations: _count, unreadMessages: _sum.unreadCount ?? 0 });
    expect((await overStream.next()).value.data?.unreadTotals).toEqual(first.unreadTotals);
    await gaugeBecomes({ sse: 1, websocket: 1 });
    await overSocket.close();
    await overStream.return?.();
    sse.dispose();
    await until(() => subscribersOf(t.gateway) === 0, "both subscriptions to be released");
    await gaugeBecomes({ sse: 0, websocket: 0 });
  });

  it("refuses an ad-hoc document over graphql-ws with FORBIDDEN and an unknown hash with PERSISTED_QUERY_NOT_FOUND", async () => {
    expect(await refusedCodes(wsFeed({ query: "subscription { unreadTotals { unreadMessages } }" }))).toEqual(["FORBIDDEN"]);
    expect(await refusedCodes(wsFeed({ query: "{ viewer { id } }" }))).toEqual(["FORBIDDEN"]);
    const unknown = { query: "", extensions: { persistedQuery: { version: 1, sha256Hash: sha256("subscription { x }") } } };
    expect(await refusedCodes(wsFeed(unknown))).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it("runs a listed query by hash over graphql-ws", async () => {
    const inbox = wsFeed<{ conversations: { edges: unknown[] } }>({ ...byHash("InboxPage"), variables: { first: 3 } });
    expect((await inbox.next()).conversations.edges).toHaveLength(3);
  });
});
