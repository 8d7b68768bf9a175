import type { YogaInitialContext } from "graphql-yoga";
import type { Viewer } from "../auth/viewer.js";
import type { Database } from "../db/client.js";
import type { Logger } from "../logger.js";
import type { WriteDeps } from "../domain/write.js";
import type { EventPublisher } from "../realtime/events.js";
import type { LiveFeeds } from "../realtime/feeds.js";
import { createLoaders, type Loaders } from "./loaders.js";

/** What the gateway adds to Yoga's context for every request. */
export interface RequestContext {
  db: Database;
  events: EventPublisher;
  feeds: LiveFeeds;
  viewer: Viewer;
  loaders: Loaders;
  log: Logger;
}

export type GraphQLContext = YogaInitialContext & RequestContext;

/** What the gateway shares across requests; a context adds the per-request parts to it. */
export interface ServerContext {
  db: Database;
  events: EventPublisher;
  feeds: LiveFeeds;
  log: Logger;
}

export function buildRequestContext(server: ServerContext, viewer: Viewer): RequestContext {
  return { ...server, viewer, loaders: createLoaders(server.db.prisma, viewer.workspaceId) };
}

/**
 * What a domain write needs from a request. Mutations run one after another in a request, and
 * each one's result must show its own write: the request's cached records are dropped once it commits.
 */
export function writeDeps(ctx: RequestContext): WriteDeps {
  return { prisma: ctx.db.prisma, events: ctx.events, log: ctx.log, committed: () => ctx.loaders.forget() };
}

/**
 * A subscription's context lives as long as the subscription, so its own loaders would serve
 * stale records. Each delivery brings the loaders of its batch instead: fresh for every event, and
 * shared by every subscriber of it. Events of one subscription are executed one after another.
 */
export function withDeliveryLoaders<T extends { loaders: Loaders }>(ctx: RequestContext, delivery: T): T {
  ctx.loaders = delivery.loaders;
  return delivery;
}
