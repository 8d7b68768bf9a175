import { ActivityType, AgentRole, Channel, ContactStatus, ConversationPriority, ConversationStatus, MessageDirection } from "../../generated/prisma/enums.js";
import { CONVERSATION_ORDER_FIELDS } from "../../domain/conversation-query.js";
import { builder } from "../builder.js";

export const ChannelEnum = builder.enumType(Channel, {
  name: "Channel",
  description: "The messaging channel a conversation runs on.",
});

export const ConversationStatusEnum = builder.enumType(ConversationStatus, {
  name: "ConversationStatus",
  description: "Where a conversation is in its life: OPEN needs attention, CLOSED is resolved, ARCHIVED is out of the inbox.",
});

export const ConversationPriorityEnum = builder.enumType(ConversationPriority, {
  name: "ConversationPriority",
  description: "How urgent a conversation is; a conversation may have none.",
});

export const ContactStatusEnum = builder.enumType(ContactStatus, {
  name: "ContactStatus",
  description: "Whether a contact is active, inactive, or deleted (kept for history).",
});

export const MessageDirectionEnum = builder.enumType(MessageDirection, {
  name: "MessageDirection",
  description: "INBOUND messages come from the contact; OUTBOUND messages are replies by an agent.",
});

export const AgentRoleEnum = builder.enumType(AgentRole, {
  name: "AgentRole",
  description: "What an agent may do: VIEWER reads; AGENT also works conversations; ADMIN also manages contacts, agents and API keys.",
});

export const ActivityTypeEnum = builder.enumType(ActivityType, {
  name: "ActivityType",
  description: "What an activity entry records.",
});

export const OrderDirectionEnum = builder.enumType("OrderDirection", {
  description: "Sort direction.",
  values: {
    ASC: { description: "Smallest first." },
    DESC: { description: "Largest (newest) first." },
  } as const,
});

export const ConversationOrderFieldEnum = builder.enumType("ConversationOrderField", {
  description: "What a conversation list is sorted by. Ties are broken by id, so paging is stable.",
  values: CONVERSATION_ORDER_FIELDS,
});
