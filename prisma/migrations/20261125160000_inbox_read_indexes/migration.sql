-- Measured with `npm run bench` on 100,000 conversations (bench/README.md).

-- conversationCounts reads only these columns: an index-only scan instead of the whole table.
CREATE INDEX "Conversation_workspaceId_status_assignedToId_unreadCount_idx" ON "Conversation"("workspaceId", "status", "assignedToId", "unreadCount");

-- An agent's inbox in inbox order: the filtered inbox (assignee + labels + priority) walks one
-- agent's conversations newest first and stops at a page, instead of sorting every match.
CREATE INDEX "Conversation_inbox_assignee_idx" ON "Conversation"("workspaceId", "assignedToId", (COALESCE("lastMessageAt", '-infinity'::timestamptz)) DESC, "id" DESC);
