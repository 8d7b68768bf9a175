import { readRows } from "../db/adapter-reads.js";
import { Prisma, type ConversationActivity, type PrismaClient } from "../generated/prisma/client.js";
import type { ActivityType } from "../generated/prisma/enums.js";

/** The activities that move a conversation's unread count: an inbound message raises it, reading clears it. */
export const MOVES_UNREAD: ReadonlySet<ActivityType> = new Set<ActivityType>(["MESSAGE_RECEIVED", "READ"]);

/** A conversation as it is now, with the activities written to it since the moment asked for. */
export interface MissedChange {
  conversationId: string;
  unreadCount: number;
  assignedToId: string | null;
  /** The conversation's updatedAt (epoch ms), the version its live events carry. */
  version: number;
  activities: { id: string; type: ActivityType; at: number }[];
}

/**
 * What was written in a workspace since `since`, newest `limit` activities at most, per
 * conversation in the order of its first activity: what a live feed that could not hear the
 * other instances (Redis down) has to catch up on. `complete` is false when older ones were left out.
 */
export async function changesSince(db: PrismaClient, workspaceId: string, since: Date, limit: number) {
  const rows = await readRows<
    Pick<ConversationActivity, "id" | "type" | "conversationId" | "createdAt"> & { unreadCount: number; assignedToId: string | null; updatedAt: Date }
  >(
    db,
    Prisma.sql`
    SELECT a."id", a."type", a."conversationId", a."createdAt", c."unreadCount", c."assignedToId", c."updatedAt"
    FROM (
      SELECT "id", "type", "conversationId", "createdAt" FROM "ConversationActivity"
      WHERE "workspaceId" = ${workspaceId} AND "createdAt" >= CAST(${since.toISOString()} AS timestamptz)
      ORDER BY "createdAt" DESC, "id" DESC LIMIT ${limit + 1}
    ) a
    JOIN "Conversation" c ON c."id" = a."conversationId"
    ORDER BY a."createdAt", a."id"`,
  );
  const complete = rows.length <= limit;
  const changes = new Map<string, MissedChange>();
  for (const row of complete ? rows : rows.slice(1)) {
    let change = changes.get(row.conversationId);
    if (!change) {
      change = { conversationId: row.conversationId, unreadCount: row.unreadCount, assignedToId: row.assignedToId, version: row.updatedAt.getTime(), activities: [] };
      changes.set(row.conversationId, change);
    }
    change.activities.push({ id: row.id, type: row.type, at: row.createdAt.getTime() });
  }
  return { changes: [...changes.values()], complete };
}
