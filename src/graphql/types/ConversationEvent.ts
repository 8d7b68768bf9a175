import { requireId } from "../../domain/ids.js";
import type { ConversationEventDelivery } from "../../realtime/feeds.js";
import { builder } from "../builder.js";
import { withDeliveryLoaders } from "../context.js";
import { ConversationFilterInput, conversationNow } from "./Conversation.js";
import { ConversationActivityRef } from "./ConversationActivity.js";
import { ActivityTypeEnum } from "./enums.js";

export const ConversationEventRef = builder.objectRef<ConversationEventDelivery>("ConversationEvent").implement({
  description: "One activity on a conversation, as it happened: what kind, the conversation now, and the activity entry.",
  fields: (t) => ({
    type: t.field({ type: ActivityTypeEnum, description: "What kind of change.", resolve: (event) => event.type }),
    conversation: t.field(conversationNow),
    activity: t.field({
      type: ConversationActivityRef,
      nullable: true,
      description: "The activity entry the change wrote.",
      resolve: (event, _args, ctx, info) => ctx.loaders.activity(info).load(event.activityId),
    }),
  }),
});

builder.subscriptionField("conversationEvents", (t) =>
  t.field({
    type: ConversationEventRef,
    description:
      "Every activity on the conversations of your workspace that match: one event per activity entry. The filter means what it means for the conversations query, applied to each conversation as it is after the change.",
    args: {
      id: t.arg.id({ description: "Only this conversation (conv_…)." }),
      filter: t.arg({ type: ConversationFilterInput, description: "Only conversations matching it after the change; fields combine with AND." }),
    },
    subscribe: (_root, { id, filter }, ctx) =>
      ctx.feeds.conversationEvents(ctx.viewer, {
        conversationId: id != null ? requireId(id, "conversation") : null,
        filter: filter ?? null,
      }),
    resolve: (event, _args, ctx) => withDeliveryLoaders(ctx, event),
  }),
);
