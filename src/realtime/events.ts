import type { ActivityType } from "../generated/prisma/enums.js";

/**
 * What a committed write tells the live feeds: one event per changed conversation, published
 * after the transaction commits. It carries ids and the new figures; subscribers load records
 * through the request's DataLoaders like any query.
 */
export interface ConversationChanged {
  workspaceId: string;
  conversationId: string;
  /** The activity rows the change wrote, in order. */
  activities: { id: string; type: ActivityType }[];
  unreadCount: number;
  /**
   * The conversation's updatedAt after the change (epoch ms). Each commit on a conversation raises
   * it (the row lock orders them), so a feed can tell an event that arrives late from a newer one.
   */
  version: number;
  /** Whether unreadCount moved (so unread feeds can skip the rest). */
  unreadChanged: boolean;
  assignedToId: string | null;
  /**
   * The assignee before the change (equal to assignedToId when the assignment did not change;
   * when it did, both agents' totals move).
   */
  previousAssignedToId: string | null;
  /** Commit time (epoch ms), to measure delivery latency. */
  committedAt: number;
}

/** The one channel every gateway publishes to and listens on. */
export const CONVERSATION_CHANGED = "conversation:changed";

/** Where domain writes hand their events after commit. */
export interface EventPublisher {
  publish(event: ConversationChanged): void;
}
