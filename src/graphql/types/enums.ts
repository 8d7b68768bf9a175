import { ActivityType, AgentRole, Channel, ContactStatus, ConversationPriority, ConversationStatus, MessageDirection } from "../../generated/prisma/enums.js";
import type { ConversationOrderField } from "../../domain/conversation-query.js";
import { builder } from "../builder.js";

/** Every value of a Prisma enum described (GraphiQL's docs show them): a value added to the Prisma enum fails the type check until it is. */
type Described<E> = Record<keyof E, { description: string }>;

export const ChannelEnum = builder.enumType(Channel, {
  name: "Channel",
  description: "The messaging channel a conversation runs on.",
  values: {
    WHATSAPP: { description: "WhatsApp: the contact's phone number." },
    INSTAGRAM: { description: "Instagram direct messages." },
    SMS: { description: "Text messages to the contact's phone number." },
    EMAIL: { description: "Email to the contact's address." },
  } satisfies Described<typeof Channel>,
});

export const ConversationStatusEnum = builder.enumType(ConversationStatus, {
  name: "ConversationStatus",
  description: "Where a conversation is in its life.",
  values: {
    OPEN: { description: "Needs attention; the inbox lists these." },
    CLOSED: { description: "Resolved. It stays closed when the contact writes again; that message counts as unread." },
    ARCHIVED: { description: "Out of the inbox, kept for history." },
  } satisfies Described<typeof ConversationStatus>,
});

export const ConversationPriorityEnum = builder.enumType(ConversationPriority, {
  name: "ConversationPriority",
  description: "How urgent a conversation is; a conversation may have none.",
  values: {
    LOW: { description: "Whenever there is time." },
    MEDIUM: { description: "In the normal course of the day." },
    HIGH: { description: "Before the rest." },
  } satisfies Described<typeof ConversationPriority>,
});

export const ContactStatusEnum = builder.enumType(ContactStatus, {
  name: "ContactStatus",
  description: "Whether a contact is active, inactive, or deleted (kept for history).",
  values: {
    ACTIVE: { description: "A current customer or lead." },
    INACTIVE: { description: "No longer engaged; kept and searchable." },
    DELETED: { description: "Removed at the contact's or business's request; kept only so history stays whole." },
  } satisfies Described<typeof ContactStatus>,
});

export const MessageDirectionEnum = builder.enumType(MessageDirection, {
  name: "MessageDirection",
  description: "Who wrote a message.",
  values: {
    INBOUND: { description: "From the contact, delivered by a channel (receiveMessage)." },
    OUTBOUND: { description: "A reply by an agent (sendMessage)." },
  } satisfies Described<typeof MessageDirection>,
});

export const AgentRoleEnum = builder.enumType(AgentRole, {
  name: "AgentRole",
  description: "What an agent (or API key) may do.",
  values: {
    VIEWER: { description: "Reads everything in the workspace, changes nothing." },
    AGENT: { description: "Also works conversations: status, priority, labels, assignment, messages." },
    ADMIN: { description: "Also manages contacts and API keys." },
  } satisfies Described<typeof AgentRole>,
});

export const ActivityTypeEnum = builder.enumType(ActivityType, {
  name: "ActivityType",
  description: "What an activity entry records.",
  values: {
    CREATED: { description: "The conversation was opened." },
    STATUS_CHANGED: { description: "Its status changed (from, to)." },
    PRIORITY_CHANGED: { description: "Its priority changed or was cleared (from, to)." },
    LABELS_CHANGED: { description: "Labels were added, removed or replaced (from, to: the whole list)." },
    TAGS_CHANGED: { description: "Tags were replaced (from, to: the whole list)." },
    ASSIGNED: { description: "It was assigned, reassigned or unassigned (from, to: agent ids)." },
    READ: { description: "Its unread messages were read (from: the unread count, to: 0)." },
    MESSAGE_RECEIVED: { description: "An inbound message arrived (to: { messageId })." },
    MESSAGE_SENT: { description: "An agent replied (to: { messageId })." },
  } satisfies Described<typeof ActivityType>,
});

export const OrderDirectionEnum = builder.enumType("OrderDirection", {
  description: "Sort direction.",
  values: {
    ASC: { description: "Smallest first." },
    DESC: { description: "Largest (newest) first." },
  } as const,
});

const ORDER_FIELDS: Record<ConversationOrderField, string> = {
  LAST_MESSAGE_AT: "The newest message's time: the inbox order. Conversations without messages sort last.",
  CREATED_AT: "When the conversation was opened.",
  UPDATED_AT: "The last change of any kind.",
  PRIORITY: "LOW, MEDIUM, HIGH; conversations without one sort last.",
  UNREAD_COUNT: "How many messages wait to be read.",
};

export const ConversationOrderFieldEnum = builder.enumType("ConversationOrderField", {
  description: "What a conversation list is sorted by. Ties are broken by id, so paging is stable.",
  values: Object.fromEntries(Object.entries(ORDER_FIELDS).map(([key, description]) => [key, { description }])) as {
    [K in ConversationOrderField]: { description: string };
  },
});
