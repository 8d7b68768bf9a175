-- One index per order of the conversations list (src/domain/conversation-query.ts, sortKey), each
-- on the very expression the page statement orders by, so that every order pages like the inbox:
-- walk the index from the cursor and stop after a page. Without them, each page of these orders
-- read and sorted every conversation of the workspace: 80 to 130 ms per page at 100,000.
-- A B-tree is walked either way, so one index serves both directions of one expression; the
-- orders whose NULL stand-in differs by direction (nulls last both ways) have one per direction.

-- LAST_MESSAGE_AT ascending (descending: Conversation_inbox_idx).
CREATE INDEX "Conversation_order_lastMessageAt_asc_idx" ON "Conversation"("workspaceId", (COALESCE("lastMessageAt", 'infinity'::timestamptz)), "id");

-- CREATED_AT, and UPDATED_AT (also what a client polling with updatedAfter walks).
CREATE INDEX "Conversation_workspaceId_createdAt_id_idx" ON "Conversation"("workspaceId", "createdAt", "id");
CREATE INDEX "Conversation_workspaceId_updatedAt_id_idx" ON "Conversation"("workspaceId", "updatedAt", "id");

-- UNREAD_COUNT.
CREATE INDEX "Conversation_workspaceId_unreadCount_id_idx" ON "Conversation"("workspaceId", "unreadCount", "id");

-- PRIORITY by rank: no priority ranks 0 descending and 4 ascending.
CREATE INDEX "Conversation_order_priority_desc_idx" ON "Conversation"("workspaceId", (CASE "priority" WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE 0 END), "id");
CREATE INDEX "Conversation_order_priority_asc_idx" ON "Conversation"("workspaceId", (CASE "priority" WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE 4 END), "id");
