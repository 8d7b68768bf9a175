-- A conversation's messages and activity are read newest first, a page at a time: a LIMIT over
-- each conversation's own index ("conversationId", "createdAt" DESC, "id" DESC). Planned for its
-- values, the planner takes a page's rows per conversation from the average, 10 messages on the
-- benchmark's workspace, finds no more than the page in it, and chooses to read all of the
-- conversation's rows and sort them: a thread of 20,000 messages cost 18 ms to show its last 31,
-- against 0.14 ms walking the index (bench/README.md, lever 39). Counting a hundredth of the rows
-- as distinct conversations (a hundred rows each, on ANALYZE) makes the walk the plan for a long
-- thread and a short one alike. The statements prepared on PostgreSQL already walk it (no sorting
-- on their connections); this is for those planned each time: PGlite, and
-- DATABASE_STATEMENT_CACHE_SIZE=0.
ALTER TABLE "Message" ALTER COLUMN "conversationId" SET (n_distinct = -0.01);
ALTER TABLE "ConversationActivity" ALTER COLUMN "conversationId" SET (n_distinct = -0.01);
-- The override counts from the next ANALYZE; PGlite and a server without autovacuum may not run
-- one for a long time. It reads a sample (30,000 rows at most), so it is quick at any size.
ANALYZE "Message", "ConversationActivity";
