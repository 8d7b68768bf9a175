import { GraphQLError } from "graphql";
import { Repeater, SlidingBuffer } from "graphql-yoga";
import { LRUCache } from "lru-cache";
import type { AgentCheck } from "../auth/agent-standing.js";
import { unauthenticated } from "../auth/errors.js";
import type { Database } from "../db/client.js";
import { type ConversationFilter, conversationsMatching, conversationWhere, countConversations } from "../domain/conversation-query.js";
import { DomainError } from "../domain/errors.js";
import { changesSince, MOVES_UNREAD } from "../domain/missed-changes.js";
import type { Prisma } from "../generated/prisma/client.js";
import type { ActivityType } from "../generated/prisma/enums.js";
import type { Viewer } from "../auth/viewer.js";
import { createLoaders, type Loaders } from "../graphql/loaders.js";
import type { Logger } from "../logger.js";
import type { ConversationChanged } from "./events.js";
import type { EventBus } from "./pubsub.js";

/**
 * What a subscriber receives. Records are not in the payload: they load through `loaders`, made
 * once per delivered batch and workspace and shared by every subscriber of that batch, so 10,000
 * subscribers of one change cost one query per record type, not 10,000.
 */
interface Delivery {
  loaders: Loaders;
}

export interface UnreadCountChange extends Delivery {
  conversationId: string;
  unreadCount: number;
}

export interface ConversationEventDelivery extends Delivery {
  type: ActivityType;
  conversationId: string;
  activityId: string;
}

export interface UnreadTotals {
  unreadConversations: number;
  unreadMessages: number;
}

export interface FeedStats {
  /** Open subscriptions of all three feeds. */
  subscribers: number;
  /** Workspaces with at least one subscriber. */
  workspaces: number;
  /** Distinct (workspace, assignee) totals being kept up to date. */
  totalsKeys: number;
  /** Listeners on the event bus (the feeds' one consumer). */
  busListeners: number;
}

interface Subscriber<T> {
  push(value: T): void;
  /** Ends the subscription; with an error, the client gets it as the stream's last word. */
  stop(error?: Error): void;
  /** Whose it is: it ends when the token expires, the API key is revoked or the agent may no longer act. */
  viewer: Viewer;
  /** When it subscribed (epoch ms): changes replayed after an outage that are older are not its. */
  since: number;
}

interface UnreadSubscriber extends Subscriber<UnreadCountChange> {
  conversationId: string | null;
  assignedToId: string | null;
}

interface EventSubscriber extends Subscriber<ConversationEventDelivery> {
  conversationId: string | null;
  /** The filter's SQL condition, built once at subscribe time; null without a filter. */
  condition: Prisma.Sql | null;
  /** Equal filters share a key, and one column of the filter query. */
  filterKey: string | null;
}

interface TotalsSubscriber extends Subscriber<UnreadTotals> {
  lastSent: string | null;
}

/** The subscribers of one (workspace, assignee) total and the state of its single-flight refresh. */
interface TotalsKey {
  assignedToId: string | null;
  subscribers: Set<TotalsSubscriber>;
  running: boolean;
  /** A change arrived since the running query started: run once more when it ends. */
  dirty: boolean;
  /** Send even to subscribers that already have these figures (after a Redis outage). */
  force: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const TOKEN_EXPIRED = () => unauthenticated("Your token has expired: subscribe again with a fresh one.");
const KEY_REVOKED = () => unauthenticated("The API key has been revoked.");
/**
 * A subscription that would miss events ends with this instead: the client resubscribes and
 * reloads what it shows, rather than showing stale figures as if they were current.
 */
const NOT_DELIVERED = () =>
  new DomainError("INTERNAL_SERVER_ERROR", "Live events could not be delivered to this subscription: subscribe again and reload what it shows.");
const tooManySubscriptions = (max: number) =>
  new DomainError("RATE_LIMITED", `At most ${max} subscriptions may be open at once for one agent or API key: close one first.`);

/**
 * How many conversations per workspace the unread feed remembers its last delivery of, how many
 * activities the event feed remembers having delivered, and how many a replay after an outage reads.
 */
const REMEMBERED = 10_000;

/**
 * How far before Redis was seen to go a replay starts: events published just before it went (or
 * before this instance noticed) may never have arrived. What did arrive is remembered and skipped.
 */
const REPLAY_MARGIN_MS = 10_000;

interface WorkspaceFeeds {
  unread: Set<UnreadSubscriber>;
  /** The last unreadCountChanged delivered per conversation: older ones are late. */
  unreadSent: LRUCache<string, { version: number; unreadCount: number }>;
  events: Set<EventSubscriber>;
  /** The activities the event feed has delivered, so a replay does not deliver them twice. */
  activitiesSent: LRUCache<string, true>;
  totals: Map<string | null, TotalsKey>;
}

/**
 * An event as the feeds handle it: from the bus, or rebuilt from the database after an outage
 * (`replayed`), whose activities then carry their time.
 */
type FeedEvent = Omit<ConversationChanged, "activities"> & {
  activities: (ConversationChanged["activities"][number] & { at?: number })[];
  replayed?: true;
};

/** Every subscriber of a workspace, of all three feeds. */
const subscribersOf = (feeds: WorkspaceFeeds): Subscriber<never>[] => [
  ...feeds.unread,
  ...feeds.events,
  ...[...feeds.totals.values()].flatMap((key) => [...key.subscribers]),
];

/**
 * Every feed is the viewer's workspace's, and lasts while the viewer's credentials do: it ends with
 * UNAUTHENTICATED when the token expires, or before the next delivery once the API key is revoked
 * or the agent deactivated.
 */
export interface LiveFeeds {
  unreadCountChanged(viewer: Viewer, args: { conversationId: string | null; assignedToId: string | null }): AsyncIterable<UnreadCountChange>;
  /** Throws BAD_USER_INPUT, before subscribing, for a filter the conversations query would refuse. */
  conversationEvents(viewer: Viewer, args: { conversationId: string | null; filter: ConversationFilter | null }): AsyncIterable<ConversationEventDelivery>;
  unreadTotals(viewer: Viewer, assignedToId: string | null): AsyncIterable<UnreadTotals>;
  stats(): FeedStats;
  /** Ends every subscription (their clients see them complete) and detaches from the bus. */
  close(): Promise<void>;
}

/**
 * The gateway's live feeds: one consumer of the event bus, fanning each committed change out to
 * the subscribers of its workspace. Events that arrive together are handled as one batch: one
 * filter query for all conversationEvents filters, one totals query per affected (workspace,
 * assignee), one set of loaders for all payloads. Each subscriber has a bounded queue.
 */
export function createLiveFeeds(deps: {
  db: Database;
  bus: EventBus;
  log: Logger;
  checkAgent: AgentCheck;
  /** How many undelivered events a subscriber may have queued; beyond it the oldest are dropped. */
  queueSize: number;
  /** How many subscriptions one agent or API key may hold open at once; 0: no limit. */
  maxPerCaller: number;
}): LiveFeeds {
  const { db, bus, log, checkAgent, queueSize, maxPerCaller } = deps;
  const workspaces = new Map<string, WorkspaceFeeds>();
  // Open subscriptions by caller: each costs a queue, and each distinct filter a column of every batch's filter query.
  const openByCaller = new Map<string, number>();
  let pending: FeedEvent[] = [];
  let draining: Promise<void> | null = null;
  let closed = false;

  const feedsOf = (workspaceId: string) => {
    let feeds = workspaces.get(workspaceId);
    if (!feeds) {
      feeds = { unread: new Set(), unreadSent: new LRUCache({ max: REMEMBERED }), events: new Set(), activitiesSent: new LRUCache({ max: REMEMBERED }), totals: new Map() };
      workspaces.set(workspaceId, feeds);
    }
    return feeds;
  };
  const forgetIfIdle = (workspaceId: string, feeds: WorkspaceFeeds) => {
    if (!feeds.unread.size && !feeds.events.size && !feeds.totals.size) workspaces.delete(workspaceId);
  };

  /**
   * A subscription as an async iterator over a bounded queue. It registers when the client starts
   * reading and unregisters when it stops (client gone, unsubscribed, or the gateway closing).
   */
  function subscription<T, S extends Subscriber<T>>(
    viewer: Viewer,
    buffer: number,
    register: (subscriber: S) => () => void,
    init: (subscriber: Subscriber<T>) => S,
  ): AsyncIterable<T> {
    return new Repeater<T>(async (push, stop) => {
      if (closed) return stop();
      const caller = viewer.apiKeyId ?? viewer.agentId ?? viewer.workspaceId;
      const open = openByCaller.get(caller) ?? 0;
      if (maxPerCaller && open >= maxPerCaller) return stop(tooManySubscriptions(maxPerCaller));
      openByCaller.set(caller, open + 1);
      const unregister = register(init({ push: (value) => void push(value), stop: (error) => stop(error), viewer, since: Date.now() }));
      // Beyond a timer's range (about 24 days) the next delivery notices instead.
      const untilExpiry = viewer.expiresAt === undefined ? Infinity : viewer.expiresAt - Date.now();
      const expiry = untilExpiry <= MAX_TIMER_MS ? setTimeout(() => stop(TOKEN_EXPIRED()), Math.max(0, untilExpiry)) : undefined;
      await stop;
      clearTimeout(expiry);
      unregister();
      const left = openByCaller.get(caller)! - 1;
      if (left) openByCaller.set(caller, left);
      else openByCaller.delete(caller);
    }, new SlidingBuffer(buffer));
  }

  /**
   * Ends the subscriptions whose token has expired, whose API key was revoked (one query for the
   * keys) or whose agent may no longer act (the same check as a request's, read at most once per
   * agent per AGENT_RECHECK_MS).
   */
  async function endLapsed(feeds: WorkspaceFeeds) {
    const subscribers = subscribersOf(feeds);
    const now = Date.now();
    for (const { viewer, stop } of subscribers) if (viewer.expiresAt !== undefined && viewer.expiresAt <= now) stop(TOKEN_EXPIRED());
    const agents = new Map(subscribers.flatMap(({ viewer }) => (viewer.agentId ? [[viewer.agentId, viewer] as const] : [])));
    const refused = new Map<string, GraphQLError>();
    await Promise.all(
      [...agents].map(([agentId, viewer]) =>
        checkAgent(viewer).catch((err: unknown) => {
          // Only a refusal ends subscriptions; a failed read leaves them for the next delivery.
          if (err instanceof GraphQLError) refused.set(agentId, err);
          else log.error({ err, agentId }, "an agent's standing could not be read");
        }),
      ),
    );
    for (const { viewer, stop } of subscribers) if (viewer.agentId && refused.has(viewer.agentId)) stop(refused.get(viewer.agentId));
    const keyIds = [...new Set(subscribers.flatMap(({ viewer }) => (viewer.apiKeyId ? [viewer.apiKeyId] : [])))];
    if (!keyIds.length) return;
    const revoked = new Set(
      (await db.prisma.apiKey.findMany({ where: { id: { in: keyIds }, revokedAt: { not: null } }, select: { id: true } })).map((key) => key.id),
    );
    for (const { viewer, stop } of subscribers) if (viewer.apiKeyId && revoked.has(viewer.apiKeyId)) stop(KEY_REVOKED());
  }

  function totalsKey(workspaceId: string, assignedToId: string | null): TotalsKey {
    const feeds = feedsOf(workspaceId);
    let key = feeds.totals.get(assignedToId);
    if (!key) {
      key = { assignedToId, subscribers: new Set(), running: false, dirty: false, force: false };
      feeds.totals.set(assignedToId, key);
    }
    return key;
  }

  /** Recomputes a total, at most one query in flight per key; changes meanwhile cause one rerun. */
  function refreshTotals(workspaceId: string, key: TotalsKey, force = false) {
    key.dirty = true;
    key.force ||= force;
    if (key.running) return;
    key.running = true;
    void (async () => {
      while (key.dirty && key.subscribers.size) {
        key.dirty = false;
        const sendAll = key.force;
        key.force = false;
        try {
          const counts = await countConversations(db.prisma, workspaceId, key.assignedToId ? { assignedToId: key.assignedToId } : null);
          const totals = { unreadConversations: counts.withUnread, unreadMessages: counts.unreadMessages };
          const figures = JSON.stringify(totals);
          for (const subscriber of key.subscribers) {
            if (!sendAll && subscriber.lastSent === figures) continue;
            subscriber.lastSent = figures;
            subscriber.push(totals);
          }
        } catch (err) {
          log.error({ err, workspaceId }, "unread totals could not be computed");
        }
      }
      key.running = false;
    })();
  }

  function eventMatchesUnread(subscriber: UnreadSubscriber, event: FeedEvent) {
    return (
      (!event.replayed || event.version >= subscriber.since) &&
      (subscriber.conversationId === null || subscriber.conversationId === event.conversationId) &&
      (subscriber.assignedToId === null || subscriber.assignedToId === event.assignedToId)
    );
  }

  /**
   * Whether a newer count of this conversation went out already. Commits on one conversation can
   * reach the feed in another order than they happened (two writers on one instance finish in
   * either order; other instances' events come through Redis), and a subscriber that took a late
   * count last would keep a stale badge.
   */
  function isLate(feeds: WorkspaceFeeds, event: FeedEvent): boolean {
    const delivered = feeds.unreadSent.get(event.conversationId);
    if (delivered !== undefined && delivered.version >= event.version) return true;
    feeds.unreadSent.set(event.conversationId, { version: event.version, unreadCount: event.unreadCount });
    return false;
  }

  /** The assignees whose unread totals a change moves (null: the workspace's total). */
  function totalsMoved(event: ConversationChanged): (string | null)[] {
    const moved: (string | null)[] = [];
    if (event.unreadChanged) moved.push(null, event.assignedToId);
    const reassigned = event.previousAssignedToId !== event.assignedToId;
    if (reassigned && (event.unreadChanged || event.unreadCount > 0)) moved.push(event.previousAssignedToId, event.assignedToId);
    return moved;
  }

  async function deliver(workspaceId: string, events: FeedEvent[]) {
    const feeds = workspaces.get(workspaceId);
    if (!feeds) return;
    await endLapsed(feeds);
    const loaders = createLoaders(db.prisma, workspaceId, {
      Conversation: events.map((event) => event.conversationId),
      ConversationActivity: events.flatMap((event) => event.activities.map((activity) => activity.id)),
    });

    for (const event of events) {
      if (!event.unreadChanged || isLate(feeds, event)) continue;
      for (const subscriber of feeds.unread) {
        if (eventMatchesUnread(subscriber, event)) {
          subscriber.push({ conversationId: event.conversationId, unreadCount: event.unreadCount, loaders });
        }
      }
    }

    const moved = new Set(events.flatMap(totalsMoved));
    for (const [assignedToId, key] of feeds.totals) {
      if (moved.has(assignedToId)) refreshTotals(workspaceId, key);
    }

    if (feeds.events.size) await deliverConversationEvents(workspaceId, feeds, events, loaders);
  }

  async function deliverConversationEvents(workspaceId: string, feeds: WorkspaceFeeds, events: FeedEvent[], loaders: Loaders) {
    // Filters are evaluated by the same SQL as the conversations query, for every distinct filter
    // at once, on the conversations as they are after the change.
    const conditions = new Map<string, Prisma.Sql>();
    for (const subscriber of feeds.events) {
      if (subscriber.filterKey && subscriber.condition) conditions.set(subscriber.filterKey, subscriber.condition);
    }
    const filterKeys = [...conditions.keys()];
    let matches = new Map<string, boolean[]>();
    if (filterKeys.length) {
      const ids = [...new Set(events.map((e) => e.conversationId))];
      try {
        matches = await conversationsMatching(db.prisma, workspaceId, ids, [...conditions.values()]);
      } catch (err) {
        log.error({ err, workspaceId }, "conversation event filters could not be evaluated; their subscriptions are ended");
        for (const subscriber of feeds.events) if (subscriber.filterKey !== null) subscriber.stop(NOT_DELIVERED());
      }
    }
    const column = new Map(filterKeys.map((key, index) => [key, index]));
    for (const event of events) {
      const matched = matches.get(event.conversationId);
      const activities = event.activities.filter((activity) => !feeds.activitiesSent.has(activity.id));
      for (const activity of activities) feeds.activitiesSent.set(activity.id, true);
      for (const subscriber of feeds.events) {
        if (subscriber.conversationId !== null && subscriber.conversationId !== event.conversationId) continue;
        if (subscriber.filterKey !== null && !matched?.[column.get(subscriber.filterKey)!]) continue;
        for (const activity of activities) {
          if (activity.at !== undefined && activity.at < subscriber.since) continue;
          subscriber.push({ type: activity.type, conversationId: event.conversationId, activityId: activity.id, loaders });
        }
      }
    }
  }

  async function drain() {
    while (pending.length) {
      const batch = pending;
      pending = [];
      const byWorkspace = new Map<string, FeedEvent[]>();
      for (const event of batch) {
        const list = byWorkspace.get(event.workspaceId);
        if (list) list.push(event);
        else byWorkspace.set(event.workspaceId, [event]);
      }
      for (const [workspaceId, events] of byWorkspace) {
        try {
          await deliver(workspaceId, events);
        } catch (err) {
          log.error({ err, workspaceId }, "live events could not be delivered; the workspace's event subscriptions are ended");
          const feeds = workspaces.get(workspaceId);
          for (const subscriber of [...(feeds?.unread ?? []), ...(feeds?.events ?? [])]) subscriber.stop(NOT_DELIVERED());
        }
      }
    }
    draining = null;
  }

  function enqueue(event: FeedEvent) {
    if (closed || !workspaces.has(event.workspaceId)) return;
    pending.push(event);
    // Batches whatever arrives while the previous batch is being delivered; order is kept.
    draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
  }

  /**
   * After an outage, what other instances wrote meanwhile, read back from the database and fed in
   * as events: the changed conversations' current unread counts (where they differ from what was
   * sent, or may), and the activities not delivered yet. They may arrive after newer live events.
   */
  async function replay(workspaceId: string, feeds: WorkspaceFeeds, since: number) {
    const { changes, complete } = await changesSince(db.prisma, workspaceId, new Date(since), REMEMBERED);
    if (!complete) log.warn({ workspaceId, since: new Date(since) }, "more changes were missed during the Redis outage than are replayed: the oldest are left out");
    for (const change of changes) {
      const sent = feeds.unreadSent.get(change.conversationId);
      enqueue({
        ...change,
        workspaceId,
        replayed: true,
        unreadChanged: sent ? sent.unreadCount !== change.unreadCount : change.activities.some((activity) => MOVES_UNREAD.has(activity.type)),
        previousAssignedToId: change.assignedToId,
        committedAt: change.activities.at(-1)!.at,
      });
    }
  }

  const detach = bus.listen(enqueue);
  bus.onResume((downSince) => {
    for (const [workspaceId, feeds] of workspaces) {
      for (const key of feeds.totals.values()) refreshTotals(workspaceId, key, true);
      if (!feeds.unread.size && !feeds.events.size) continue;
      let earliest = Infinity;
      for (const subscriber of [...feeds.unread, ...feeds.events]) earliest = Math.min(earliest, subscriber.since);
      const since = Math.max(downSince - REPLAY_MARGIN_MS, earliest);
      replay(workspaceId, feeds, since).catch((err: unknown) => log.error({ err, workspaceId }, "the changes missed during the Redis outage could not be replayed"));
    }
  });

  /** Registration in one of a workspace's subscriber sets. */
  function joining<K extends "unread" | "events">(workspaceId: string, feed: K) {
    return (subscriber: WorkspaceFeeds[K] extends Set<infer S> ? S : never) => {
      const feeds = feedsOf(workspaceId);
      const set = feeds[feed] as Set<typeof subscriber>;
      set.add(subscriber);
      return () => {
        set.delete(subscriber);
        forgetIfIdle(workspaceId, feeds);
      };
    };
  }

  const allSubscribers = () => [...workspaces.values()].flatMap(subscribersOf);

  return {
    unreadCountChanged(viewer, args) {
      return subscription<UnreadCountChange, UnreadSubscriber>(viewer, queueSize, joining(viewer.workspaceId, "unread"), (base) => ({ ...base, ...args }));
    },
    conversationEvents(viewer, { conversationId, filter }) {
      const filterKey = filter && Object.values(filter).some((v) => v != null) ? JSON.stringify(filter) : null;
      // Built now, so a filter the conversations query would refuse is refused at subscribe time.
      const condition = filterKey ? conversationWhere(viewer.workspaceId, filter, "picked") : null;
      return subscription<ConversationEventDelivery, EventSubscriber>(viewer, queueSize, joining(viewer.workspaceId, "events"), (base) => ({
        ...base,
        conversationId,
        condition,
        filterKey,
      }));
    },
    unreadTotals(viewer, assignedToId) {
      const { workspaceId } = viewer;
      // Only the latest figures matter to a badge: a slow client keeps just those.
      return subscription<UnreadTotals, TotalsSubscriber>(
        viewer,
        1,
        (subscriber) => {
          const key = totalsKey(workspaceId, assignedToId);
          key.subscribers.add(subscriber);
          // The first frame: a refresh of the key sends fresh figures to the new subscriber (and
          // to no one else whose figures are unchanged).
          refreshTotals(workspaceId, key);
          return () => {
            key.subscribers.delete(subscriber);
            const feeds = workspaces.get(workspaceId);
            if (!feeds) return;
            if (!key.subscribers.size) feeds.totals.delete(assignedToId);
            forgetIfIdle(workspaceId, feeds);
          };
        },
        (base) => ({ ...base, lastSent: null }),
      );
    },
    stats() {
      let subscribers = 0;
      let totalsKeys = 0;
      for (const feeds of workspaces.values()) {
        subscribers += feeds.unread.size + feeds.events.size;
        for (const key of feeds.totals.values()) subscribers += key.subscribers.size;
        totalsKeys += feeds.totals.size;
      }
      return { subscribers, workspaces: workspaces.size, totalsKeys, busListeners: bus.listenerCount() };
    },
    async close() {
      closed = true;
      detach();
      for (const subscriber of allSubscribers()) subscriber.stop();
      await draining;
    },
  };
}
