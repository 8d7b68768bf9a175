-- A workspace's activity by time: live feeds that missed events while Redis was down read what
-- was written meanwhile (src/domain/missed-changes.ts) without scanning every conversation's log.
CREATE INDEX "ConversationActivity_workspaceId_createdAt_id_idx" ON "ConversationActivity"("workspaceId", "createdAt" DESC, "id" DESC);
