-- The newest message by (createdAt, id), the order lists show messages in: a message stamped with
-- the same time as the current last one takes the preview only when it lists before it, so the
-- preview is the first message listed whatever order concurrent deliveries commit in.
ALTER TABLE "Conversation" ADD COLUMN "lastMessageId" TEXT;

-- Existing previews stay as they are; the next message follows the rule.
UPDATE "Conversation" t SET "lastMessageId" = last."id"
FROM (
  SELECT DISTINCT ON ("conversationId") "conversationId", "id" FROM "Message"
  ORDER BY "conversationId", "createdAt" DESC, "id" DESC
) last
WHERE last."conversationId" = t."id";
