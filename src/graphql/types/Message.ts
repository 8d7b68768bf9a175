import {
  MAX_BODY_LENGTH,
  MAX_CLOCK_SKEW_MS,
  type ReceiveMessageInput,
  receiveMessage,
  type SendMessageInput,
  sendMessage,
} from "../../domain/messages.js";
import { type EveryField, builder } from "../builder.js";
import { writeDeps } from "../context.js";
import { AgentRef } from "./Agent.js";
import { MessageDirectionEnum } from "./enums.js";

export const MessageRef = builder.prismaObject("Message", {
  description: "One message in a conversation, inbound from the contact or outbound from an agent.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.exposeID("id", { description: "The message's id (msg_…)." }),
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
      description: "The agent who sent an outbound message (batched per request); null for an inbound one, or one an integration sent with an API key.",
      resolve: (message, _args, ctx, info) => (message.senderId ? ctx.loaders.agent(info).load(message.senderId) : null),
    }),
  }),
});

export const MessageConnection = builder.connectionObject(
  { type: MessageRef, name: "MessageConnection", description: "A page of messages." },
  { name: "MessageEdge", description: "A message in a page, with its cursor." },
);

const BODY_DESCRIPTION = `The text (1 to ${MAX_BODY_LENGTH.toLocaleString("en-US")} characters).`;

const ReceiveMessageInputRef = builder.inputRef<ReceiveMessageInput>("ReceiveMessageInput").implement({
  description: "An inbound message as a channel delivers it.",
  fields: (t) => ({
    conversationId: t.id({ required: true, description: "The conversation (conv_…) it belongs to." }),
    body: t.string({ required: true, description: BODY_DESCRIPTION }),
    externalId: t.string({
      required: true,
      description: "The channel's id of the message. A retried delivery with the same externalId returns the first message and changes nothing.",
    }),
    sentAt: t.field({ type: "DateTime", description: `When the contact sent it (default: now). Up to ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead (a drifting clock) counts as now; further is refused.` }),
  }) satisfies EveryField<ReceiveMessageInput>,
});

const SendMessageInputRef = builder.inputRef<SendMessageInput>("SendMessageInput").implement({
  description: "An outbound reply by the calling agent.",
  fields: (t) => ({
    conversationId: t.id({ required: true, description: "The conversation (conv_…) to reply in." }),
    body: t.string({ required: true, description: BODY_DESCRIPTION }),
  }) satisfies EveryField<SendMessageInput>,
});

builder.mutationFields((t) => ({
  receiveMessage: t.field({
    type: MessageRef,
    nullable: true,
    authScopes: { agent: true },
    description:
      "Records an inbound message: messageCount and unreadCount +1, lastMessageAt and the preview set, the contact's lastContacted set. Idempotent on externalId.",
    args: { input: t.arg({ type: ReceiveMessageInputRef, required: true, description: "The delivered message." }) },
    resolve: (_root, { input }, ctx) => receiveMessage(writeDeps(ctx), ctx.viewer, input),
  }),
  sendMessage: t.field({
    type: MessageRef,
    nullable: true,
    authScopes: { agent: true },
    description:
      "Sends a reply as the calling agent: messageCount +1, unreadCount unchanged. Sent with an API key (an integration, such as a bot), the reply has no sender.",
    args: { input: t.arg({ type: SendMessageInputRef, required: true, description: "The reply." }) },
    resolve: (_root, { input }, ctx) => sendMessage(writeDeps(ctx), ctx.viewer, input),
  }),
}));
