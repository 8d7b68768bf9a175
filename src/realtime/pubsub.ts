import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { CONVERSATION_CHANGED, type ConversationChanged, type EventPublisher } from "./events.js";

type Listener = (event: ConversationChanged) => void;

/**
 * How committed changes reach the live feeds of every gateway instance: in-process, or through
 * Redis when REDIS_URL is set. Each gateway has one listener (its LiveFeeds), which fans events
 * out to its subscribers.
 */
export interface EventBus extends EventPublisher {
  /** Adds a listener; returns its removal. */
  listen(listener: Listener): () => void;
  /** How many listeners are attached (one per gateway in normal operation). */
  listenerCount(): number;
  /**
   * Called whenever Redis comes back after an outage, with when it went (epoch ms): other
   * instances' events since then were missed.
   */
  onResume(callback: (downSince: number) => void): void;
  /**
   * "local" without Redis; with it, "connected" when both Redis connections are up, "connecting"
   * until they first are (a wrong REDIS_URL stays there), "down" when they were and are not.
   */
  status(): "local" | "connecting" | "connected" | "down";
  /** Resolves once this instance receives what other instances publish (at once without Redis). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

function localListeners(log: Logger) {
  const listeners = new Set<Listener>();
  return {
    listeners,
    deliver(event: ConversationChanged) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          log.error({ err, conversationId: event.conversationId }, "a live feed listener failed");
        }
      }
    },
  };
}

export function createInProcessEventBus(log: Logger): EventBus {
  const { listeners, deliver } = localListeners(log);
  return {
    publish: deliver,
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    listenerCount: () => listeners.size,
    onResume: () => {},
    status: () => "local",
    ready: async () => {},
    close: async () => listeners.clear(),
  };
}

const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2_000);

/**
 * A Redis connection for commands that fails them at once while Redis is down (no offline queue,
 * one retry), so callers fall back instead of waiting; it keeps reconnecting in the background.
 */
export function redisCommandClient(url: string): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: reconnectDelay });
}

/**
 * The client as the event target sees it, with its SUBSCRIBE and UNSUBSCRIBE promises handled:
 * the target leaves them unhandled, and one still queued when the gateway closes while Redis is
 * down rejects ("Connection is closed"), which would end the process as an unhandled rejection.
 * Outages are logged by the connection's own error handler.
 */
function settledSubscriptions(client: Redis): Redis {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (property === "subscribe" || property === "unsubscribe") {
        return (...channels: string[]) => (value as (...c: string[]) => Promise<unknown>).apply(target, channels).catch(() => undefined);
      }
      return value.bind(target);
    },
  });
}

/**
 * Events through Redis pub/sub, received with @graphql-yoga/redis-event-target. Redis being down
 * never fails or delays a write: the publishing connection has no offline queue, a publish that
 * cannot go out is delivered to this instance's own subscribers instead (other instances miss it
 * and catch up on resume), and every failure is logged as a warning, never thrown.
 * `publishClient` is the gateway's command connection (a redisCommandClient), which its owner closes.
 */
export function createRedisEventBus(publishClient: Redis, log: Logger, prefix: string): EventBus {
  const channel = `${prefix}:${CONVERSATION_CHANGED}`;
  // The subscribing connection queues its SUBSCRIBE until Redis answers and never gives up on it.
  const subscribeClient = publishClient.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  const target = createRedisEventTarget<CustomEvent<ConversationChanged>>({ publishClient, subscribeClient: settledSubscriptions(subscribeClient) });
  const local = localListeners(log);
  const resumeCallbacks: ((downSince: number) => void)[] = [];

  let down = false;
  let downSince = 0;
  let closing = false;
  const wentDown = (client: string) => (err?: Error) => {
    if (down || closing) return;
    down = true;
    downSince = Date.now();
    log.warn({ err, client }, "redis unavailable: live events stay on this instance until it returns");
  };
  publishClient.on("error", wentDown("publish"));
  subscribeClient.on("error", wentDown("subscribe"));
  subscribeClient.on("close", wentDown("subscribe"));
  let connectedOnce = false;
  subscribeClient.on("ready", () => {
    const resumed = connectedOnce;
    connectedOnce = true;
    down = false;
    if (!resumed) return;
    log.warn("redis is back: live feeds resumed");
    for (const callback of resumeCallbacks) callback(downSince);
  });

  const fallBack = (event: ConversationChanged, err?: unknown) => {
    wentDown("publish")(err instanceof Error ? err : undefined);
    local.deliver(event);
  };

  return {
    // Not target.dispatchEvent: it leaves the publish promise unhandled, so a Redis failure would
    // become an unhandled rejection. Same channel and JSON payload as the target reads.
    publish(event) {
      if (publishClient.status !== "ready") return fallBack(event);
      publishClient.publish(channel, JSON.stringify(event)).catch((err: unknown) => fallBack(event, err));
    },
    listen(listener) {
      // Only the gateway's own LiveFeeds listens, for the gateway's whole life: removing a
      // listener only detaches it here; the Redis subscription ends with close().
      target.addEventListener(channel, (event) => {
        if (local.listeners.has(listener)) listener(event.detail);
      });
      local.listeners.add(listener);
      return () => local.listeners.delete(listener);
    },
    listenerCount: () => local.listeners.size,
    onResume: (callback) => void resumeCallbacks.push(callback),
    status: () => (publishClient.status === "ready" && subscribeClient.status === "ready" ? "connected" : connectedOnce ? "down" : "connecting"),
    async ready() {
      // Both connections' first attempt, whichever way it ends: a Redis that is down must not
      // keep the gateway from starting.
      await Promise.all(
        [publishClient, subscribeClient].map((client) =>
          client.status === "ready"
            ? undefined
            : new Promise<void>((resolve) => {
                const settle = () => {
                  client.off("ready", settle).off("error", settle);
                  resolve();
                };
                client.on("ready", settle).on("error", settle);
              }),
        ),
      );
      // Commands on one connection are answered in order: once PING returns, the SUBSCRIBE sent
      // before it is in effect.
      if (subscribeClient.status === "ready") await subscribeClient.ping().catch(() => undefined);
    },
    async close() {
      closing = true;
      local.listeners.clear();
      subscribeClient.disconnect();
    },
  };
}
