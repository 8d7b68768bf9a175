-- A contact's conversations (Contact.conversations, and the conversations filter by contactId) are
-- listed in the inbox's order by default: newest message first. An index on "contactId" alone
-- found a contact's rows, and each page read all of them and sorted them, which a contact with
-- thousands of conversations (an integration, a reseller writing for its customers) paid on every
-- page. This one walks them in that order and stops at the page. It replaces the one on
-- "contactId": it serves every lookup by contact that one did (the search's bitmap scans, the
-- foreign key's checks), so a write updates no more indexes than before.
CREATE INDEX "Conversation_contact_lastMessageAt_idx" ON "Conversation"("contactId", (COALESCE("lastMessageAt", '-infinity'::timestamptz)) DESC, "id" DESC);
DROP INDEX "Conversation_contactId_idx";
-- The page's statement takes the contacts as values of a list, so the planner takes a contact's
-- rows from the average (5 on the benchmark's workspace) and reads them all and sorts them, index
-- or not: 5 to 10 ms for the first 21 of a contact's 20,000 conversations, against 0.03 ms walking
-- the index (bench/README.md, lever 40). As for the timelines (20261207010000), counting a
-- hundredth of the rows as distinct contacts (a hundred rows each, on ANALYZE) makes the walk the
-- plan for a contact with many conversations and one with few. Searches' plans are unchanged.
ALTER TABLE "Conversation" ALTER COLUMN "contactId" SET (n_distinct = -0.01);
ANALYZE "Conversation";
