import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import type { ConversationChanged, EventPublisher } from "../realtime/events.js";
import { type IdKind, newId } from "./ids.js";

export type Tx = Prisma.TransactionClient;

/** An event as a write records it; the commit time is stamped when it is published. */
export type PendingEvent = Omit<ConversationChanged, "committedAt">;

/** What every domain write needs. */
export interface WriteDeps {
  prisma: PrismaClient;
  events: EventPublisher;
  log?: Pick<Logger, "error">;
  /** Set by inOneTransaction: the open transaction, and the events to publish once it commits. */
  batch?: { tx: Tx; pending: PendingEvent[] };
  /** When the write happens, for replaying history (the demo seed); the database's now() otherwise. */
  at?: Date;
  /** Where new ids come from (the seed derives them from its PRNG); random by default. */
  ids?: (kind: IdKind) => string;
  /** Told after each commit: whatever the caller read before it may now be stale. */
  committed?: () => void;
}

// Requests queue for PGlite's single connection or the pool; a burst of writes must wait, not fail.
const TRANSACTION_OPTIONS = { maxWait: 30_000, timeout: 30_000 };

/**
 * Runs one write in its own transaction (or in the caller's, inside inOneTransaction) and
 * publishes what it recorded only after the commit. A failed publish is logged, never thrown: the
 * change is committed and the caller must see it succeed.
 */
export function transact<T>(deps: WriteDeps, work: (tx: Tx, emit: (event: PendingEvent) => void) => Promise<T>): Promise<T> {
  return inOneTransaction(deps, ({ batch }) => work(batch!.tx, (event) => batch!.pending.push(event)));
}

/**
 * Several domain writes in one transaction: all of them commit or none does, and each changed
 * conversation gets one event after the commit. The writes run the same rules as on their own.
 */
export async function inOneTransaction<T>(deps: WriteDeps, work: (batch: WriteDeps) => Promise<T>): Promise<T> {
  if (deps.batch) return work(deps);
  const pending: PendingEvent[] = [];
  const result = await deps.prisma.$transaction((tx) => work({ ...deps, batch: { tx, pending } }), TRANSACTION_OPTIONS);
  deps.committed?.();
  publish(deps, pending);
  return result;
}

function publish(deps: WriteDeps, pending: PendingEvent[]) {
  const committedAt = Date.now();
  for (const event of mergePerConversation(pending)) {
    try {
      deps.events.publish({ ...event, committedAt });
    } catch (err) {
      deps.log?.error({ err, conversationId: event.conversationId }, "publishing a committed change failed");
    }
  }
}

/** One event per conversation: its activities in order, the latest figures, the assignee before the first change. */
function mergePerConversation(pending: PendingEvent[]): PendingEvent[] {
  const merged = new Map<string, PendingEvent>();
  for (const event of pending) {
    const earlier = merged.get(event.conversationId);
    merged.set(
      event.conversationId,
      earlier
        ? {
            ...event,
            activities: [...earlier.activities, ...event.activities],
            unreadChanged: earlier.unreadChanged || event.unreadChanged,
            previousAssignedToId: earlier.previousAssignedToId,
          }
        : event,
    );
  }
  return [...merged.values()];
}

/** The instant of a write in SQL: the replayed time, or the transaction's now(). */
export function sqlNow(deps: WriteDeps): Prisma.Sql {
  return deps.at ? Prisma.sql`CAST(${deps.at.toISOString()} AS timestamptz)` : Prisma.sql`now()`;
}

export function idFor(deps: WriteDeps, kind: IdKind): string {
  return deps.ids ? deps.ids(kind) : newId(kind);
}
