import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import WebSocket from "ws";
import type { Gateway } from "../src/gateway.js";

/** Real clients for the live feeds: graphql-ws over a socket, graphql-sse over HTTP. */

export interface Feed<T> {
  /** The next frame's data; rejects if the feed ends or errs first. */
  next(): Promise<T>;
  /** Frames as they come, including a final `done`. */
  iterator: AsyncIterableIterator<{ data?: unknown; errors?: readonly unknown[] }>;
  close(): Promise<void>;
}

function feedOf<T>(iterator: AsyncIterableIterator<{ data?: unknown; errors?: readonly unknown[] | null }>): Feed<T> {
  return {
    iterator: iterator as Feed<T>["iterator"],
    async next() {
      const frame = await iterator.next();
      if (frame.done) throw new Error("the feed ended");
      if (frame.value.errors?.length) throw new Error(`feed errors: ${JSON.stringify(frame.value.errors)}`);
      return frame.value.data as T;
    },
    async close() {
      await iterator.return?.();
    },
  };
}

export function wsUrl(httpUrl: URL): string {
  return httpUrl.toString().replace(/^http/, "ws");
}

export function wsClient(url: URL, token: string | null, options: { onClosed?: (event: unknown) => void; generateID?: () => string } = {}): WsClient {
  return createWsClient({
    ...(options.generateID && { generateID: options.generateID }),
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => options.onClosed?.(event) },
  });
}

export function overWs<T>(client: WsClient, query: string, variables: Record<string, unknown> = {}): Feed<T> {
  return feedOf<T>(client.iterate({ query, variables }));
}

export function overSse<T>(url: URL, token: string | null, query: string, variables: Record<string, unknown> = {}): Feed<T> & { dispose(): void } {
  const client = createSseClient({
    url: url.toString(),
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  return { ...feedOf<T>(client.iterate({ query, variables })), dispose: () => client.dispose() };
}

/** A GraphQL request over real HTTP. */
export async function overHttp<T = any>(url: URL, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

/** What an unreadTotals badge should show: the totals as the conversationCounts query gives them. */
export async function unreadTotalsOf(url: URL, token: string, assignedToId: string | null = null) {
  const { conversationCounts } = await overHttp(url, token, `query($f: ConversationFilter) { conversationCounts(filter: $f) { withUnread unreadMessages } }`, {
    f: assignedToId ? { assignedToId } : null,
  });
  return { unreadConversations: conversationCounts.withUnread as number, unreadMessages: conversationCounts.unreadMessages as number };
}

/** Waits until a condition holds (e.g. the gateway has registered N subscribers). */
export async function until(condition: () => boolean | Promise<boolean>, what = "condition"): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const subscribersOf = (gateway: Gateway) => gateway.feeds.stats().subscribers;

/**
 * An SSE stream through yoga.fetch (in-process) that is read only when `frames` is called, so a
 * test can play a slow consumer; it starts its subscription at once.
 */
export async function sseInProcess(gateway: Gateway, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await gateway.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  // A stream starts its subscription when first read: one read now, then nothing until `frames`.
  let first: ReturnType<typeof reader.read> | null = reader.read();
  return {
    /** Reads frames until `last` holds for one, and returns every frame's data up to it. */
    async frames<T>(last: (data: T) => boolean): Promise<T[]> {
      const seen: T[] = [];
      for (;;) {
        const blocks = text.split("\n\n");
        text = blocks.pop()!;
        for (const block of blocks) {
          const data = block.split("\n").find((line) => line.startsWith("data: "));
          if (!data || !block.includes("event: next")) continue;
          seen.push((JSON.parse(data.slice(6)) as { data: T }).data);
          if (last(seen.at(-1)!)) return seen;
        }
        const chunk = await (first ?? reader.read());
        first = null;
        if (chunk.done) throw new Error(`the stream ended after ${seen.length} frames`);
        text += decoder.decode(chunk.value, { stream: true });
      }
    },
    close: () => reader.cancel(),
  };
}
