import { builder } from "../builder.js";
import { AgentRef } from "./Agent.js";
import { MessageDirectionEnum } from "./enums.js";

export const MessageRef = builder.prismaNode("Message", {
  description: "One message in a conversation, inbound from the contact or outbound from an agent.",
  id: { field: "id", description: "The message's id (msg_…)." },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    conversationId: t.exposeID("conversationId", { description: "The conversation it belongs to." }),
    direction: t.expose("direction", { type: MessageDirectionEnum, description: "Inbound or outbound." }),
    body: t.exposeString("body", { description: "The text, exactly as received or sent." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was sent." }),
    externalId: t.exposeString("externalId", {
      nullable: true,
      description: "The channel's own id for an inbound message; retried deliveries are recognised by it.",
    }),
    sender: t.field({
      type: AgentRef,
      nullable: true,
      description: "The agent who sent an outbound message (batched per request).",
      resolve: (message, _args, ctx) => (message.senderId ? ctx.loaders.agent.load(message.senderId) : null),
    }),
  }),
});

export const MessageConnection = builder.connectionObject(
  { type: MessageRef, name: "MessageConnection", description: "A page of messages." },
  { name: "MessageEdge", description: "A message in a page, with its cursor." },
);
