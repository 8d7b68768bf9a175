import { requireId } from "../../domain/ids.js";
import type { UnreadTotals } from "../../realtime/feeds.js";
import { builder } from "../builder.js";

export const UnreadTotalsRef = builder.objectRef<UnreadTotals>("UnreadTotals").implement({
  description: "The figures of an unread badge: how many conversations have unread messages, and how many messages are unread.",
  fields: (t) => ({
    unreadConversations: t.exposeInt("unreadConversations", { description: "Conversations with at least one unread message." }),
    unreadMessages: t.exposeInt("unreadMessages", { description: "Unread messages across those conversations." }),
  }),
});

builder.subscriptionField("unreadTotals", (t) =>
  t.field({
    type: UnreadTotalsRef,
    description:
      "Unread totals of your workspace, or of one agent's conversations: the current figures at once, then new figures after every change that moves them (reassignments move both agents' totals).",
    args: { assignedToId: t.arg.id({ description: "Only conversations assigned to this agent (agt_…); the whole workspace when absent." }) },
    subscribe: (_root, { assignedToId }, ctx) =>
      ctx.feeds.unreadTotals(ctx.viewer, assignedToId != null ? requireId(assignedToId, "agent", "assignedToId") : null),
    resolve: (totals) => totals,
  }),
);
