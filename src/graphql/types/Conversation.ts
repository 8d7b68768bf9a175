import type { GraphQLResolveInfo } from "graphql";
import {
  type ConversationCounts,
  type ConversationFilter,
  type ConversationOrder,
  countConversations,
  listConversations,
  listConversationsOfContacts,
} from "../../domain/conversation-query.js";
import type { Conversation } from "../../generated/prisma/client.js";
import {
  addConversationLabels,
  assignConversation,
  bulkUpdateConversations,
  type BulkUpdateInput,
  type BulkUpdateResult,
  createConversation,
  type CreateConversationInput,
  MAX_BULK_IDS,
  MAX_SUBJECT_LENGTH,
  markConversationRead,
  removeConversationLabels,
  setConversationLabels,
  setConversationTags,
  updateConversationPriority,
  updateConversationStatus,
} from "../../domain/conversations.js";
import { MAX_SEARCH_LENGTH } from "../../domain/contact-query.js";
import { badInput } from "../../domain/errors.js";
import { MAX_LABEL_LENGTH, MAX_LABELS } from "../../domain/labels.js";
import { PREVIEW_LENGTH } from "../../domain/messages.js";
import { requireId } from "../../domain/ids.js";
import type { PageArgs } from "../../domain/paging.js";
import { listTimelineOf } from "../../domain/timeline-query.js";
import { type EveryField, builder } from "../builder.js";
import { type GraphQLContext, writeDeps } from "../context.js";
import { EDGE_NODE, columnsFor, joinsFor } from "../selection.js";
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

export const ConversationRef = builder.prismaObject("Conversation", {
  description: "A thread between the business and one contact on one channel.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.exposeID("id", { description: "The conversation's id (conv_…)." }),
    contactId: t.exposeID("contactId", { description: "The contact's id." }),
    contact: t.field({
      type: ContactRef,
      description: "The contact this conversation is with (batched per request).",
      resolve: async (conversation, _args, ctx, info) => {
        const contact = await ctx.loaders.contact(info).load(conversation.contactId);
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
      resolve: (conversation, _args, ctx, info) => (conversation.assignedToId ? ctx.loaders.agent(info).load(conversation.assignedToId) : null),
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
      description: `The start of the last message (${PREVIEW_LENGTH} characters, whitespace collapsed).`,
    }),
    messages: t.connection(
      {
        type: MessageRef,
        description: "The conversation's messages, newest first.",
        resolve: (conversation, args, ctx, info) => timelinePage("Message", conversation, args, ctx, info),
      },
      MessageConnection,
    ),
    activity: t.connection(
      {
        type: ConversationActivityRef,
        description: "Who changed what and when, newest first.",
        resolve: (conversation, args, ctx, info) => timelinePage("ConversationActivity", conversation, args, ctx, info),
      },
      ActivityConnection,
    ),
  }),
});

/** A page of a conversation's messages or activity, batched with every other conversation's in the request. */
function timelinePage<Table extends "Message" | "ConversationActivity">(
  table: Table,
  conversation: Conversation,
  args: PageArgs,
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
) {
  // Part of the batch's key: aliases of the list may select different columns and relations.
  const columns = columnsFor(table, info, EDGE_NODE);
  const joins = joinsFor(table, info, EDGE_NODE);
  return ctx.loaders
    .pageOf(`Conversation.${table}`, { args, columns, joins }, (ids: readonly string[]) =>
      listTimelineOf(ctx.db.prisma, table, ctx.viewer.workspaceId, ids, args, columns, joins),
    )
    .load(conversation.id);
}

/** A live payload's conversation as it is now, loaded like any query; null if it is gone. */
export const conversationNow = {
  type: ConversationRef,
  nullable: true,
  description: "The conversation as it is now (loaded like any query); null if it is gone.",
  resolve: (payload: { conversationId: string }, _args: object, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    ctx.loaders.conversation(info).load(payload.conversationId),
} as const;

export const ConversationFilterInput = builder.inputRef<ConversationFilter>("ConversationFilter").implement({
  description: "Narrows a conversation list, count or feed. Every field is optional; fields combine with AND.",
  fields: (t) => ({
    status: t.field({ type: [ConversationStatusEnum], description: "Any of these statuses; an empty list matches none." }),
    channel: t.field({ type: [ChannelEnum], description: "Any of these channels; an empty list matches none." }),
    priority: t.field({ type: [ConversationPriorityEnum], description: "Any of these priorities; an empty list matches none." }),
    assignedToId: t.id({ description: "Assigned to this agent." }),
    unassigned: t.boolean({ description: "true: nobody is assigned; false: somebody is." }),
    labels: t.stringList({ description: "Has all of these labels." }),
    contactId: t.id({ description: "With this contact." }),
    hasUnread: t.boolean({ description: "true: has unread messages; false: has none." }),
    search: t.string({
      description: `A substring of the subject, last message preview, or contact name, email or phone, whatever its case and accents; at most ${MAX_SEARCH_LENGTH} characters.`,
    }),
    updatedAfter: t.field({ type: "DateTime", description: "Changed after this instant." }),
  }) satisfies EveryField<ConversationFilter>,
});

export const ConversationOrderInput = builder.inputRef<ConversationOrder>("ConversationOrder").implement({
  description: "How to sort conversations.",
  fields: (t) => ({
    field: t.field({ type: ConversationOrderFieldEnum, defaultValue: "LAST_MESSAGE_AT", description: "Sort key." }),
    direction: t.field({ type: OrderDirectionEnum, defaultValue: "DESC", description: "Direction; nulls sort last either way." }),
  }) satisfies EveryField<ConversationOrder>,
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
        resolve: (contact, args, ctx, info) => {
          const columns = columnsFor("Conversation", info, EDGE_NODE);
          const joins = joinsFor("Conversation", info, EDGE_NODE);
          return ctx.loaders
            .pageOf("Contact.conversations", { args, columns, joins }, (contactIds: readonly string[]) =>
              listConversationsOfContacts(ctx.db.prisma, ctx.viewer.workspaceId, contactIds, args, columns, joins),
            )
            .load(contact.id);
        },
      },
      ConversationConnection,
    )
);

// Lives here for the same reason: Message and Conversation refer to each other.
builder.prismaObjectField(MessageRef, "conversation", (t) =>
  t.field({
    type: ConversationRef,
    description: "The conversation it belongs to (batched per request).",
    resolve: async (message, _args, ctx, info) => {
      const conversation = await ctx.loaders.conversation(info).load(message.conversationId);
      if (!conversation) throw new Error(`Message ${message.id} has no conversation ${message.conversationId}`);
      return conversation;
    },
  }),
);

builder.queryFields((t) => ({
  conversation: t.field({
    type: ConversationRef,
    nullable: true,
    description: "A conversation by id; null when there is none in your workspace.",
    args: { id: t.arg.id({ required: true, description: "The conversation's id (conv_…)." }) },
    resolve: (_root, { id }, ctx, info) => ctx.loaders.conversation(info).load(requireId(id, "conversation")),
  }),
  conversations: t.connection(
    {
      type: ConversationRef,
      description: "The inbox: conversations of your workspace, filtered and ordered, paged by cursor.",
      args: {
        filter: t.arg({ type: ConversationFilterInput, description: "Narrows the list; fields combine with AND." }),
        orderBy: t.arg({ type: ConversationOrderInput, description: "Sort order (default LAST_MESSAGE_AT DESC, nulls last)." }),
      },
      resolve: async (_root, args, ctx, info) => {
        const joins = joinsFor("Conversation", info, EDGE_NODE);
        const page = await listConversations(ctx.db.prisma, ctx.viewer.workspaceId, args, columnsFor("Conversation", info, EDGE_NODE), joins);
        ctx.loaders.prime(page.joined);
        return page;
      },
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

const CreateConversationInputRef = builder.inputRef<CreateConversationInput>("CreateConversationInput").implement({
  description: "A new conversation with a contact of your workspace.",
  fields: (t) => ({
    contactId: t.id({ required: true, description: "The contact (cnt_…); must exist in your workspace." }),
    channel: t.field({ type: ChannelEnum, required: true, description: "The channel it runs on." }),
    subject: t.string({ description: `What it is about (at most ${MAX_SUBJECT_LENGTH} characters).` }),
    priority: t.field({ type: ConversationPriorityEnum, description: "Initial priority; none when absent." }),
    labels: t.stringList({ description: "Initial labels (label rules apply)." }),
    tags: t.stringList({ description: "Initial tags (label rules apply)." }),
    assignedToId: t.id({ description: "Initial assignee: an active agent of your workspace." }),
  }) satisfies EveryField<CreateConversationInput>,
});

const BulkUpdateErrorRef = builder
  .objectRef<BulkUpdateResult["errors"][number]>("BulkUpdateError")
  .implement({
    description: "Why one conversation of a bulk update was left unchanged.",
    fields: (t) => ({
      id: t.exposeID("id", { description: "The conversation id as given." }),
      code: t.exposeString("code", { description: "The error code (NOT_FOUND, CONFLICT, BAD_USER_INPUT, …)." }),
      message: t.exposeString("message", { description: "What went wrong, for people." }),
    }),
  });

const BulkUpdateConversationsPayload = builder
  .objectRef<BulkUpdateResult>("BulkUpdateConversationsPayload")
  .implement({
    description: "The outcome of a bulk update: each conversation succeeded or failed on its own.",
    fields: (t) => ({
      updated: t.field({
        type: [ConversationRef],
        description: "The conversations that now have the requested values (unchanged ones that already had them included).",
        resolve: (payload) => payload.updated,
      }),
      errors: t.field({
        type: [BulkUpdateErrorRef],
        description: "The conversations that failed, each with its own error; nothing changed on them.",
        resolve: (payload) => payload.errors,
      }),
    }),
  });

builder.mutationFields((t) => {
  const id = () => t.arg.id({ required: true, description: "The conversation's id (conv_…)." });
  const expectedUpdatedAt = () =>
    t.arg({
      type: "DateTime",
      description: "The updatedAt you last saw: if the conversation changed since, the mutation fails with CONFLICT and changes nothing.",
    });
  const labelsArg = (description: string) => t.arg.stringList({ required: true, description });
  const field = (description: string) => ({ type: ConversationRef, nullable: true, authScopes: { agent: true }, description });
  return {
    updateConversationStatus: t.field({
      ...field("Sets the status (OPEN, CLOSED, ARCHIVED); the current one is a no-op."),
      args: {
        id: id(),
        status: t.arg({ type: ConversationStatusEnum, required: true, description: "The new status." }),
        expectedUpdatedAt: expectedUpdatedAt(),
      },
      resolve: (_root, args, ctx) => updateConversationStatus(writeDeps(ctx), ctx.viewer, args),
    }),
    updateConversationPriority: t.field({
      ...field("Sets the priority; null clears it."),
      args: {
        id: id(),
        priority: t.arg({ type: ConversationPriorityEnum, description: "The new priority; pass null to clear it." }),
        expectedUpdatedAt: expectedUpdatedAt(),
      },
      resolve: (_root, args, ctx) => {
        if (args.priority === undefined) throw badInput("priority", 'Pass "priority", or null to clear it.');
        return updateConversationPriority(writeDeps(ctx), ctx.viewer, { ...args, priority: args.priority });
      },
    }),
    addConversationLabels: t.field({
      ...field(`Adds labels (trimmed, lower-cased; at most ${MAX_LABELS} per conversation). Concurrent adds never lose each other's labels.`),
      args: { id: id(), labels: labelsArg(`Labels to add: 1 to ${MAX_LABEL_LENGTH} characters of a-z, 0-9, space, _ and -.`) },
      resolve: (_root, args, ctx) => addConversationLabels(writeDeps(ctx), ctx.viewer, args),
    }),
    removeConversationLabels: t.field({
      ...field("Removes labels; labels the conversation does not have are ignored."),
      args: { id: id(), labels: labelsArg("Labels to remove.") },
      resolve: (_root, args, ctx) => removeConversationLabels(writeDeps(ctx), ctx.viewer, args),
    }),
    setConversationLabels: t.field({
      ...field(`Replaces all labels (at most ${MAX_LABELS}).`),
      args: { id: id(), labels: labelsArg("The complete new label list."), expectedUpdatedAt: expectedUpdatedAt() },
      resolve: (_root, args, ctx) => setConversationLabels(writeDeps(ctx), ctx.viewer, args),
    }),
    setConversationTags: t.field({
      ...field("Replaces all tags (same rules as labels)."),
      args: { id: id(), tags: labelsArg("The complete new tag list.") },
      resolve: (_root, args, ctx) => setConversationTags(writeDeps(ctx), ctx.viewer, args),
    }),
    assignConversation: t.field({
      ...field("Assigns the conversation to an active agent of your workspace; null unassigns."),
      args: {
        id: id(),
        agentId: t.arg.id({ description: "The agent (agt_…), or null to unassign; it must be given." }),
        expectedUpdatedAt: expectedUpdatedAt(),
      },
      resolve: (_root, args, ctx) => {
        // As for priority: leaving the argument out must not unassign by accident.
        if (args.agentId === undefined) throw badInput("agentId", 'Pass "agentId", or null to unassign.');
        return assignConversation(writeDeps(ctx), ctx.viewer, { ...args, agentId: args.agentId });
      },
    }),
    markConversationRead: t.field({
      ...field("Marks every message read: unreadCount becomes 0."),
      args: { id: id() },
      resolve: (_root, args, ctx) => markConversationRead(writeDeps(ctx), ctx.viewer, args),
    }),
    createConversation: t.field({
      ...field("Opens a conversation with a contact of your workspace."),
      args: { input: t.arg({ type: CreateConversationInputRef, required: true, description: "The new conversation." }) },
      resolve: (_root, { input }, ctx) => createConversation(writeDeps(ctx), ctx.viewer, input),
    }),
    bulkUpdateConversations: t.field({
      type: BulkUpdateConversationsPayload,
      nullable: true,
      authScopes: { agent: true },
      description: `Applies the same changes to up to ${MAX_BULK_IDS} conversations; each succeeds or fails on its own.`,
      // Arguments, not an input type, so no inputRef: the resolver's call checks their types, EveryField their names.
      args: {
        ids: t.arg.idList({ required: true, description: `Conversation ids (at most ${MAX_BULK_IDS}).` }),
        status: t.arg({ type: ConversationStatusEnum, description: "New status." }),
        priority: t.arg({ type: ConversationPriorityEnum, description: "New priority; null clears it; absent leaves it." }),
        addLabels: t.arg.stringList({ description: "Labels to add." }),
        removeLabels: t.arg.stringList({ description: "Labels to remove." }),
        assignToId: t.arg.id({ description: "Assign to this active agent of your workspace; absent or null leaves assignments as they are (see unassign)." }),
        unassign: t.arg.boolean({ description: "true: unassign." }),
      } satisfies EveryField<BulkUpdateInput>,
      resolve: (_root, args, ctx) => bulkUpdateConversations(writeDeps(ctx), ctx.viewer, args),
    }),
  };
});
