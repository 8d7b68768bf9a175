import { requireId } from "../../domain/ids.js";
import type { UnreadCountChange } from "../../realtime/feeds.js";
import { builder } from "../builder.js";
import { withDeliveryLoaders } from "../context.js";
import { conversationNow } from "./Conversation.js";

export const UnreadCountChangeRef = builder.objectRef<UnreadCountChange>("UnreadCountChange").implement({
  description: "A conversation's unread count moved (a message arrived, it was read, or a bulk change).",
  fields: (t) => ({
    conversationId: t.exposeID("conversationId", { description: "The conversation whose count moved." }),
    unreadCount: t.exposeInt("unreadCount", { description: "Its new unread count." }),
    conversation: t.field(conversationNow),
  }),
});

builder.subscriptionField("unreadCountChanged", (t) =>
  t.field({
    type: UnreadCountChangeRef,
    description: "Every change of a conversation's unread count in your workspace; both arguments narrow it.",
    args: {
      conversationId: t.arg.id({ description: "Only this conversation (conv_…)." }),
      assignedToId: t.arg.id({ description: "Only conversations assigned to this agent (agt_…) after the change." }),
    },
    subscribe: (_root, args, ctx) =>
      ctx.feeds.unreadCountChanged(ctx.viewer, {
        conversationId: args.conversationId != null ? requireId(args.conversationId, "conversation", "conversationId") : null,
        assignedToId: args.assignedToId != null ? requireId(args.assignedToId, "agent", "assignedToId") : null,
      }),
    resolve: (change, _args, ctx) => withDeliveryLoaders(ctx, change),
  }),
);
