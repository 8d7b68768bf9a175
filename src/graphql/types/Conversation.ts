import {
  type ConversationCounts,
  countConversations,
  listConversations,
  listConversationsOfContacts,
} from "../../domain/conversation-query.js";
import { requireId } from "../../domain/ids.js";
import { listTimelineOf } from "../../domain/timeline-query.js";
import { builder } from "../builder.js";
import { AgentRef } from "./Agent.js";
import { ContactRef } from "./Contact.js";
import { ActivityConnection, ConversationActivityRef } from "./ConversationActivity.js";
import {
  ChannelEnum,
  ConversationOrderFieldEnum,
  ConversationPriorityEnum,
  ConversationStatusEnum,
  OrderDirectionEnum,
} from "./enums.js";
import { MessageConnection, MessageRef } from "./Message.js";

export const ConversationRef = builder.prismaNode("Conversation", {
  description: "A thread between the business and one contact on one channel.",
  id: { field: "id", description: "The conversation's id (conv_…)." },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    contactId: t.exposeID("contactId", { description: "The contact's id." }),
    contact: t.field({
      type: ContactRef,
      description: "The contact this conversation is with (batched per request).",
      resolve: async (conversation, _args, ctx) => {
        const contact = await ctx.loaders.contact.load(conversation.contactId);
        if (!contact) throw new Error(`Conversation ${conversation.id} has no contact ${conversation.contactId}`);
        return contact;
      },
    }),
    channel: t.expose("channel", { type: ChannelEnum, description: "The channel the conversation runs on." }),
    subject: t.exposeString("subject", { nullable: true, description: "What the conversation is about." }),
    status: t.expose("status", { type: ConversationStatusEnum, description: "Open, closed or archived." }),
    priority: t.expose("priority", { type: ConversationPriorityEnum, nullable: true, description: "Urgency, when set." }),
    assignedTo: t.field({
      type: AgentRef,
      nullable: true,
      description: "The agent handling the conversation (batched per request); null when unassigned.",
      resolve: (conversation, _args, ctx) => (conversation.assignedToId ? ctx.loaders.agent.load(conversation.assignedToId) : null),
    }),
    labels: t.exposeStringList("labels", { description: "Triage labels (lower case), for filtering and counts." }),
    tags: t.exposeStringList("tags", { description: "Free tags (lower case), same rules as labels." }),
    messageCount: t.exposeInt("messageCount", { description: "How many messages the conversation has." }),
    unreadCount: t.exposeInt("unreadCount", { description: "Inbound messages no agent has read yet." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the conversation started." }),
    updatedAt: t.expose("updatedAt", {
      type: "DateTime",
      description: "When the conversation last changed; pass it as expectedUpdatedAt to guard an edit.",
    }),
    lastMessageAt: t.expose("lastMessageAt", { type: "DateTime", nullable: true, description: "When the last message arrived or was sent." }),
    lastMessagePreview: t.exposeString("lastMessagePreview", {
      nullable: true,
      description: "The start of the last message (140 characters, whitespace collapsed).",
    }),
    messages: t.connection(
      {
        type: MessageRef,
        description: "The conversation's messages, newest first.",
        resolve: (conversation, args, ctx) =>
          ctx.loaders
            .pageOf("Conversation.messages", args, (ids: readonly string[]) =>
              listTimelineOf(ctx.db.prisma, "Message", ctx.viewer.workspaceId, ids, args),
            )
            .load(conversation.id),
      },
      MessageConnection,
    ),
    activity: t.connection(
      {
        type: ConversationActivityRef,
        description: "Who changed what and when, newest first.",
        resolve: (conversation, args, ctx) =>
          ctx.loaders
            .pageOf("Conversation.activity", args, (ids: readonly string[]) =>
              listTimelineOf(ctx.db.prisma, "ConversationActivity", ctx.viewer.workspaceId, ids, args),
            )
            .load(conversation.id),
      },
      ActivityConnection,
    ),
  }),
});

export const ConversationFilterInput = builder.inputType("ConversationFilter", {
  description: "Narrows a conversation list, count or feed. Every field is optional; fields combine with AND.",
  fields: (t) => ({
    status: t.field({ type: [ConversationStatusEnum], description: "Any of these statuses." }),
    channel: t.field({ type: [ChannelEnum], description: "Any of these channels." }),
    priority: t.field({ type: [ConversationPriorityEnum], description: "Any of these priorities." }),
    assignedToId: t.id({ description: "Assigned to this agent." }),
    unassigned: t.boolean({ description: "true: nobody is assigned; false: somebody is." }),
    labels: t.stringList({ description: "Has all of these labels." }),
    contactId: t.id({ description: "With this contact." }),
    hasUnread: t.boolean({ description: "true: has unread messages; false: has none." }),
    search: t.string({
      description: "Case-insensitive substring of the subject, last message preview, or contact name, email or phone.",
    }),
    updatedAfter: t.field({ type: "DateTime", description: "Changed after this instant." }),
  }),
});

export const ConversationOrderInput = builder.inputType("ConversationOrder", {
  description: "How to sort conversations.",
  fields: (t) => ({
    field: t.field({ type: ConversationOrderFieldEnum, defaultValue: "LAST_MESSAGE_AT", description: "Sort key." }),
    direction: t.field({ type: OrderDirectionEnum, defaultValue: "DESC", description: "Direction; nulls sort last either way." }),
  }),
});

export const ConversationConnection = builder.connectionObject(
  { type: ConversationRef, name: "ConversationConnection", description: "A page of conversations." },
  { name: "ConversationEdge", description: "A conversation in a page, with its cursor." },
);

const ConversationCountsRef = builder.objectRef<ConversationCounts>("ConversationCounts").implement({
  description: "The figures an inbox sidebar shows. Every figure counts the conversations the filter matches.",
  fields: (t) => ({
    total: t.exposeInt("total", { description: "All matching conversations." }),
    open: t.exposeInt("open", { description: "Matching conversations that are OPEN." }),
    closed: t.exposeInt("closed", { description: "Matching conversations that are CLOSED." }),
    archived: t.exposeInt("archived", { description: "Matching conversations that are ARCHIVED." }),
    unassigned: t.exposeInt("unassigned", { description: "Matching conversations nobody is assigned to." }),
    withUnread: t.exposeInt("withUnread", { description: "Matching conversations with at least one unread message." }),
    unreadMessages: t.exposeInt("unreadMessages", { description: "Unread messages across the matching conversations." }),
  }),
});

// Lives here, not in Contact.ts: it returns conversations, and the two types refer to each other.
builder.prismaObjectField(ContactRef, "conversations", (t) =>
  t.connection(
      {
        type: ConversationRef,
        description: "The contact's conversations, newest activity first unless ordered otherwise.",
        args: {
          filter: t.arg({ type: ConversationFilterInput, description: "Narrows the list; fields combine with AND." }),
          orderBy: t.arg({ type: ConversationOrderInput, description: "Sort order (default LAST_MESSAGE_AT DESC)." }),
        },
        resolve: (contact, args, ctx) =>
          ctx.loaders
            .pageOf("Contact.conversations", args, (contactIds: readonly string[]) =>
              listConversationsOfContacts(ctx.db.prisma, ctx.viewer.workspaceId, contactIds, args),
            )
            .load(contact.id),
      },
      ConversationConnection,
    )
);

builder.queryFields((t) => ({
  conversation: t.field({
    type: ConversationRef,
    nullable: true,
    description: "A conversation by id; null when there is none in your workspace.",
    args: { id: t.arg.id({ required: true, description: "The conversation's id (conv_…)." }) },
    resolve: (_root, { id }, ctx) => ctx.loaders.conversation.load(requireId(id, "conversation")),
  }),
  conversations: t.connection(
    {
      type: ConversationRef,
      description: "The inbox: conversations of your workspace, filtered and ordered, paged by cursor.",
      args: {
        filter: t.arg({ type: ConversationFilterInput, description: "Narrows the list; fields combine with AND." }),
        orderBy: t.arg({ type: ConversationOrderInput, description: "Sort order (default LAST_MESSAGE_AT DESC, nulls last)." }),
      },
      resolve: (_root, args, ctx) => listConversations(ctx.db.prisma, ctx.viewer.workspaceId, args),
    },
    ConversationConnection,
  ),
  conversationCounts: t.field({
    type: ConversationCountsRef,
    description: "Counts for an inbox sidebar, over the conversations the filter matches.",
    args: { filter: t.arg({ type: ConversationFilterInput, description: "Narrows what is counted." }) },
    resolve: (_root, { filter }, ctx) => countConversations(ctx.db.prisma, ctx.viewer.workspaceId, filter),
  }),
}));
