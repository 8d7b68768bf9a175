-- Sidebar figures from running totals kept in the write path (bench/README.md, levers 10 to 12):
-- conversationCounts and totalCount read ConversationTally, the `labels` query LabelTally.
-- A trigger adds rows of deltas to them for every conversation insert, delete, or update of a
-- counted column, in the writer's own transaction. Rows are only ever added, never updated, so
-- concurrent writers never wait on (or deadlock over) a shared counter row; the gateway folds
-- them back to one row per key every few seconds (src/domain/conversation-tallies.ts). No
-- foreign keys: this is derived data, and a workspace's cascading delete adds its negative
-- deltas after the workspace row is gone.
CREATE TABLE "ConversationTally" (
    "id" BIGSERIAL NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "status" "ConversationStatus" NOT NULL,
    "assignedToId" TEXT,
    "priority" "ConversationPriority",
    "channel" "Channel" NOT NULL,
    "hasUnread" BOOLEAN NOT NULL,
    "conversations" INTEGER NOT NULL,
    "unreadMessages" INTEGER NOT NULL,

    CONSTRAINT "ConversationTally_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "LabelTally" (
    "id" BIGSERIAL NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "conversations" INTEGER NOT NULL,

    CONSTRAINT "LabelTally_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "ConversationTally_workspaceId_assignedToId_idx" ON "ConversationTally"("workspaceId", "assignedToId");

CREATE INDEX "LabelTally_workspaceId_label_idx" ON "LabelTally"("workspaceId", "label");

CREATE FUNCTION "conversation_tally_deltas"() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER "Conversation_tally" AFTER INSERT OR DELETE OR UPDATE OF "workspaceId", "status", "assignedToId", "priority", "channel", "unreadCount", "labels"
  ON "Conversation" FOR EACH ROW EXECUTE FUNCTION "conversation_tally_deltas"();

CREATE TRIGGER "Conversation_tally_truncate" AFTER TRUNCATE ON "Conversation"
  FOR EACH STATEMENT EXECUTE FUNCTION "conversation_tally_deltas"();

-- The conversations that exist already, one row per key.
INSERT INTO "ConversationTally" ("workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread", "conversations", "unreadMessages")
SELECT "workspaceId", "status", "assignedToId", "priority", "channel", "unreadCount" > 0, count(*), sum("unreadCount")
FROM "Conversation"
GROUP BY "workspaceId", "status", "assignedToId", "priority", "channel", "unreadCount" > 0;

INSERT INTO "LabelTally" ("workspaceId", "label", "conversations")
SELECT t."workspaceId", l, count(*) FROM "Conversation" t, unnest(t."labels") AS l GROUP BY t."workspaceId", l;

-- The tallies answer the whole-workspace counts this index was for (lever 6); without it, an
-- unread-count change no longer has to update a second index.
DROP INDEX "Conversation_workspaceId_status_assignedToId_unreadCount_idx";
