import { Prisma, type Message } from "../generated/prisma/client.js";
import type { MessageDirection } from "../generated/prisma/enums.js";
import type { Actor } from "../auth/viewer.js";
import { activityInsert, bumpedUpdatedAt, changeEvent, lockConversation } from "./conversations.js";
import { DomainError, badInput, notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { type PendingEvent, type Tx, type WriteDeps, idFor, sqlNow, transact } from "./write.js";
import { characterCount, firstCharacters, requiredText } from "./text.js";

export const PREVIEW_LENGTH = 140;
export const MAX_BODY_LENGTH = 10_000;
const MAX_EXTERNAL_ID_LENGTH = 200;
// Channels' clocks drift; a message "sent" further ahead than this is a bad timestamp. One within
// it is stored as received now: a later reply must not sort before it.
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** What an inbox row shows of a message: whitespace collapsed, the first 140 characters. */
export function messagePreview(body: string): string {
  return firstCharacters(body.replace(/\s+/g, " ").trim(), PREVIEW_LENGTH);
}

function requireBody(body: string): string {
  if (!body.trim()) throw badInput("input.body", "A message needs a body.");
  if (characterCount(body) > MAX_BODY_LENGTH) throw badInput("input.body", `A message body is at most ${MAX_BODY_LENGTH} characters.`);
  return body;
}

/**
 * Inserts a message and moves its conversation's figures in one statement: messageCount,
 * unreadCount for inbound ones, lastMessageAt and the preview (when it lists first), the
 * contact's lastContacted (inbound), and the activity. The counters are increments on the row
 * as it is when the UPDATE locks it, so concurrent messages never lose one another. Returns
 * nothing when the conversation is not in the actor's workspace or the externalId is taken.
 */
async function addMessage(
  tx: Tx,
  deps: WriteDeps,
  emit: (event: PendingEvent) => void,
  actor: Actor,
  message: { conversationId: string; direction: MessageDirection; body: string; externalId: string | null; senderId: string | null; sentAt: Prisma.Sql },
): Promise<Message | undefined> {
  const inbound = message.direction === "INBOUND";
  const activity = activityInsert(
    deps,
    { actor: inbound ? null : actor, type: inbound ? "MESSAGE_RECEIVED" : "MESSAGE_SENT", from: Prisma.sql`NULL`, to: Prisma.sql`jsonb_build_object('messageId', m."id")` },
    Prisma.sql`c, m`,
  );
  // Whether the new message lists before the conversation's last one: newest first by (createdAt,
  // id), on the row as the UPDATE has locked it, so concurrent deliveries agree whatever their order.
  const listsFirst = Prisma.sql`(t."lastMessageAt" IS NULL OR (t."lastMessageAt", COALESCE(t."lastMessageId", '')) < (m."createdAt", m."id"))`;
  const [row] = await tx.$queryRaw<(Message & { unreadCount: number; assignedToId: string | null; conversationUpdatedAt: Date })[]>`
    WITH m AS (
      INSERT INTO "Message" ("id", "workspaceId", "conversationId", "direction", "body", "externalId", "senderId", "createdAt")
      SELECT ${idFor(deps, "message")}, v."workspaceId", v."id", CAST(${message.direction} AS "MessageDirection"),
        ${message.body}, ${message.externalId}, ${message.senderId}, ${message.sentAt}
      FROM "Conversation" v WHERE v."id" = ${message.conversationId} AND v."workspaceId" = ${actor.workspaceId}
      ON CONFLICT ("workspaceId", "externalId") DO NOTHING
      RETURNING *
    ), c AS (
      UPDATE "Conversation" t SET
        "messageCount" = t."messageCount" + 1,
        "unreadCount" = t."unreadCount" + ${inbound ? 1 : 0},
        "lastMessagePreview" = CASE WHEN ${listsFirst} THEN ${messagePreview(message.body)} ELSE t."lastMessagePreview" END,
        "lastMessageId" = CASE WHEN ${listsFirst} THEN m."id" ELSE t."lastMessageId" END,
        "lastMessageAt" = GREATEST(t."lastMessageAt", m."createdAt"),
        "updatedAt" = ${bumpedUpdatedAt(deps)}
      FROM m WHERE t."id" = m."conversationId"
      RETURNING t."id", t."workspaceId", t."contactId", t."unreadCount", t."assignedToId", t."updatedAt"
    ), contact AS (
      UPDATE "Contact" k SET "lastContacted" = GREATEST(k."lastContacted", m."createdAt")
      FROM m, c WHERE k."id" = c."contactId" AND ${inbound}
    ), a AS (${activity.sql})
    SELECT m.*, c."unreadCount", c."assignedToId", c."updatedAt" AS "conversationUpdatedAt" FROM m, c`;
  if (!row) return undefined;
  const { unreadCount, assignedToId, conversationUpdatedAt, ...inserted } = row;
  const conversation = { id: inserted.conversationId, workspaceId: inserted.workspaceId, unreadCount, assignedToId, updatedAt: conversationUpdatedAt };
  emit(changeEvent(conversation, { unreadCount: unreadCount - (inbound ? 1 : 0), assignedToId }, activity));
  return inserted;
}

export interface ReceiveMessageInput {
  conversationId: string;
  body: string;
  externalId: string;
  sentAt?: Date | null;
}

/**
 * An inbound message from a channel. Idempotent on externalId: a retried delivery returns the
 * first message and changes nothing; an externalId that belongs to another conversation is a
 * CONFLICT.
 */
export async function receiveMessage(deps: WriteDeps, actor: Actor, input: ReceiveMessageInput): Promise<Message> {
  const body = requireBody(input.body);
  const externalId = requiredText(input.externalId, "input.externalId", MAX_EXTERNAL_ID_LENGTH);
  if (input.sentAt && input.sentAt.getTime() > Date.now() + MAX_CLOCK_SKEW_MS) {
    throw badInput("input.sentAt", "sentAt lies in the future.");
  }
  const sentAt = input.sentAt ? Prisma.sql`LEAST(CAST(${input.sentAt.toISOString()} AS timestamptz), ${sqlNow(deps)})` : sqlNow(deps);
  return transact(deps, async (tx, emit) => {
    const { conversationId } = input;
    const inserted = await addMessage(tx, deps, emit, actor, { conversationId, direction: "INBOUND", body, externalId, senderId: null, sentAt });
    if (inserted) return inserted;
    // Nothing inserted: no such conversation, or a retried delivery (ON CONFLICT waited for the first to commit).
    const conversation = await lockConversation(tx, actor, conversationId, "input.conversationId");
    const first = await tx.message.findUniqueOrThrow({ where: { workspaceId_externalId: { workspaceId: actor.workspaceId, externalId } } });
    if (first.conversationId !== conversation.id) {
      throw new DomainError("CONFLICT", `externalId "${externalId}" already belongs to a message of another conversation.`, {
        field: "input.externalId",
      });
    }
    return first;
  });
}

export interface SendMessageInput {
  conversationId: string;
  body: string;
}

/** An outbound reply by the actor: counts as a message, leaves unreadCount alone. */
export async function sendMessage(deps: WriteDeps, actor: Actor, input: SendMessageInput): Promise<Message> {
  const body = requireBody(input.body);
  return transact(deps, async (tx, emit) => {
    const message = { ...input, body, direction: "OUTBOUND" as const, externalId: null, senderId: actor.agentId, sentAt: sqlNow(deps) };
    const sent = await addMessage(tx, deps, emit, actor, message);
    if (sent) return sent;
    requireId(input.conversationId, "conversation", "input.conversationId");
    throw notFound("conversation", input.conversationId);
  });
}
