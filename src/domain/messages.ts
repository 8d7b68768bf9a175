import { Prisma, type Conversation, type Message } from "../generated/prisma/client.js";
import type { MessageDirection } from "../generated/prisma/enums.js";
import { type Actor, lockConversation, recordChange, writeConversation } from "./conversations.js";
import { DomainError, badInput } from "./errors.js";
import { type PendingEvent, type Tx, type WriteDeps, idFor, sqlNow, transact } from "./write.js";

export const PREVIEW_LENGTH = 140;
export const MAX_BODY_LENGTH = 10_000;
export const MAX_EXTERNAL_ID_LENGTH = 200;
// Channels' clocks drift; a message "sent" further ahead than this is a bad timestamp.
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** What an inbox row shows of a message: whitespace collapsed, the first 140 characters. */
export function messagePreview(body: string): string {
  return body.replace(/\s+/g, " ").trim().slice(0, PREVIEW_LENGTH);
}

function requireBody(body: string): string {
  if (!body.trim()) throw badInput("input.body", "A message needs a body.");
  if (body.length > MAX_BODY_LENGTH) throw badInput("input.body", `A message body is at most ${MAX_BODY_LENGTH} characters.`);
  return body;
}

/**
 * Inserts a message into a locked conversation and moves its figures in the same transaction:
 * messageCount, unreadCount for inbound ones, lastMessageAt and the preview (when it is the newest).
 */
async function addMessage(
  tx: Tx,
  deps: WriteDeps,
  emit: (event: PendingEvent) => void,
  actor: Actor,
  before: Conversation,
  message: { direction: MessageDirection; body: string; externalId: string | null; senderId: string | null; sentAt: Prisma.Sql },
): Promise<Message | undefined> {
  const [inserted] = await tx.$queryRaw<Message[]>`
    INSERT INTO "Message" ("id", "workspaceId", "conversationId", "direction", "body", "externalId", "senderId", "createdAt")
    VALUES (${idFor(deps, "message")}, ${before.workspaceId}, ${before.id}, CAST(${message.direction} AS "MessageDirection"),
      ${message.body}, ${message.externalId}, ${message.senderId}, ${message.sentAt})
    ON CONFLICT ("workspaceId", "externalId") DO NOTHING
    RETURNING *`;
  if (!inserted) return undefined;
  const at = Prisma.sql`CAST(${inserted.createdAt.toISOString()} AS timestamptz)`;
  const inbound = message.direction === "INBOUND";
  const after = (await writeConversation(
    tx,
    deps,
    before.id,
    Prisma.sql`"messageCount" = "messageCount" + 1,
      "unreadCount" = "unreadCount" + ${inbound ? 1 : 0},
      "lastMessagePreview" = CASE WHEN "lastMessageAt" IS NULL OR "lastMessageAt" <= ${at}
        THEN ${messagePreview(inserted.body)} ELSE "lastMessagePreview" END,
      "lastMessageAt" = GREATEST("lastMessageAt", ${at})`,
  ))!;
  if (inbound) {
    await tx.$executeRaw`UPDATE "Contact" SET "lastContacted" = GREATEST("lastContacted", ${at}) WHERE "id" = ${before.contactId}`;
  }
  await recordChange(tx, deps, emit, {
    actor: inbound ? null : actor,
    before,
    after,
    type: inbound ? "MESSAGE_RECEIVED" : "MESSAGE_SENT",
    from: null,
    to: { messageId: inserted.id },
  });
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
 * CONFLICT. The conversation's row lock serialises deliveries to it, so concurrent retries see the
 * first one's message.
 */
export async function receiveMessage(deps: WriteDeps, actor: Actor, input: ReceiveMessageInput): Promise<Message> {
  const body = requireBody(input.body);
  const externalId = input.externalId.trim();
  if (!externalId || externalId.length > MAX_EXTERNAL_ID_LENGTH) {
    throw badInput("input.externalId", `externalId is 1 to ${MAX_EXTERNAL_ID_LENGTH} characters.`);
  }
  if (input.sentAt && input.sentAt.getTime() > Date.now() + MAX_CLOCK_SKEW_MS) {
    throw badInput("input.sentAt", "sentAt lies in the future.");
  }
  const sentAt = input.sentAt ? Prisma.sql`CAST(${input.sentAt.toISOString()} AS timestamptz)` : sqlNow(deps);
  return transact(deps, async (tx, emit) => {
    const before = await lockConversation(tx, actor, input.conversationId, "input.conversationId");
    const inserted = await addMessage(tx, deps, emit, actor, before, { direction: "INBOUND", body, externalId, senderId: null, sentAt });
    if (inserted) return inserted;
    const first = await tx.message.findUniqueOrThrow({ where: { workspaceId_externalId: { workspaceId: actor.workspaceId, externalId } } });
    if (first.conversationId !== before.id) {
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
    const before = await lockConversation(tx, actor, input.conversationId, "input.conversationId");
    const message = { direction: "OUTBOUND" as const, body, externalId: null, senderId: actor.agentId, sentAt: sqlNow(deps) };
    return (await addMessage(tx, deps, emit, actor, before, message))!;
  });
}
