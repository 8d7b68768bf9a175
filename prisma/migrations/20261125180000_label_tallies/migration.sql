-- The `labels` query from running totals too: how many conversations carry each label, kept by
-- the same trigger as ConversationTally, in the same way (rows of deltas, folded by the gateway).
CREATE TABLE "LabelTally" (
    "id" BIGSERIAL NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "conversations" INTEGER NOT NULL,

    CONSTRAINT "LabelTally_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "LabelTally_workspaceId_label_idx" ON "LabelTally"("workspaceId", "label");

CREATE OR REPLACE FUNCTION "conversation_tally_deltas"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE "ConversationTally", "LabelTally";
    RETURN NULL;
  END IF;
  IF TG_OP <> 'UPDATE' OR (OLD."workspaceId", OLD."status", OLD."assignedToId", OLD."priority", OLD."channel", OLD."unreadCount")
      IS DISTINCT FROM (NEW."workspaceId", NEW."status", NEW."assignedToId", NEW."priority", NEW."channel", NEW."unreadCount") THEN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      INSERT INTO "ConversationTally" ("workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread", "conversations", "unreadMessages")
      VALUES (OLD."workspaceId", OLD."status", OLD."assignedToId", OLD."priority", OLD."channel", OLD."unreadCount" > 0, -1, -OLD."unreadCount");
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      INSERT INTO "ConversationTally" ("workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread", "conversations", "unreadMessages")
      VALUES (NEW."workspaceId", NEW."status", NEW."assignedToId", NEW."priority", NEW."channel", NEW."unreadCount" > 0, 1, NEW."unreadCount");
    END IF;
  END IF;
  -- OLD is null on INSERT and NEW on DELETE: unnest(NULL) adds nothing.
  IF TG_OP <> 'UPDATE' OR (OLD."workspaceId", OLD."labels") IS DISTINCT FROM (NEW."workspaceId", NEW."labels") THEN
    INSERT INTO "LabelTally" ("workspaceId", "label", "conversations")
    SELECT d."workspaceId", d."label", sum(d."sign")
    FROM (
      SELECT NEW."workspaceId" AS "workspaceId", l AS "label", 1 AS "sign" FROM unnest(NEW."labels") AS l
      UNION ALL
      SELECT OLD."workspaceId", l, -1 FROM unnest(OLD."labels") AS l
    ) d
    GROUP BY d."workspaceId", d."label"
    HAVING sum(d."sign") <> 0;
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER "Conversation_tally" ON "Conversation";
CREATE TRIGGER "Conversation_tally" AFTER INSERT OR DELETE OR UPDATE OF "workspaceId", "status", "assignedToId", "priority", "channel", "unreadCount", "labels"
  ON "Conversation" FOR EACH ROW EXECUTE FUNCTION "conversation_tally_deltas"();

INSERT INTO "LabelTally" ("workspaceId", "label", "conversations")
SELECT t."workspaceId", l, count(*) FROM "Conversation" t, unnest(t."labels") AS l GROUP BY t."workspaceId", l;
