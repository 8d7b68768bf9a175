import { builder } from "../builder.js";
import { AgentRef } from "./Agent.js";
import { ActivityTypeEnum } from "./enums.js";

export const ConversationActivityRef = builder.prismaObject("ConversationActivity", {
  description: "One change to a conversation: who changed what, from what, to what, and when.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.exposeID("id", { description: "The activity's id (act_…)." }),
    conversationId: t.exposeID("conversationId", { description: "The conversation that changed." }),
    type: t.expose("type", { type: ActivityTypeEnum, description: "What kind of change." }),
    actor: t.field({
      type: AgentRef,
      nullable: true,
      description: "The agent who made the change; null for the system or an integration.",
      resolve: (activity, _args, ctx, info) => (activity.actorId ? ctx.loaders.agent(info).load(activity.actorId) : null),
    }),
    from: t.field({ type: "JSON", nullable: true, description: "The value before the change.", resolve: (a) => a.from }),
    to: t.field({ type: "JSON", nullable: true, description: "The value after the change.", resolve: (a) => a.to }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the change happened." }),
  }),
});

export const ActivityConnection = builder.connectionObject(
  { type: ConversationActivityRef, name: "ConversationActivityConnection", description: "A page of activity." },
  { name: "ConversationActivityEdge", description: "An activity entry in a page, with its cursor." },
);
