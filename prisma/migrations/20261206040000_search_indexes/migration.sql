-- Search without reading every conversation: trigram indexes (pg_trgm, a trusted extension like
-- unaccent; PGlite loads both in src/db/client.ts) on each text search looks in, so a search is
-- a few index scans OR-ed together (src/domain/conversation-query.ts, conversationWhere). On
-- 100,000 conversations a search with no match took about 280 ms (a scan of the workspace and a
-- lookup of each conversation's contact), now well under a millisecond.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is STABLE, as its dictionary could be changed, so no index may use it. This wrapper
-- names its dictionary and is IMMUTABLE: the usual way to index unaccented text. Search calls it
-- on both sides (src/domain/contact-query.ts, searchable).
CREATE FUNCTION "search_text"(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

CREATE INDEX "Conversation_subject_search_idx" ON "Conversation" USING gin ("search_text"("subject") gin_trgm_ops);
CREATE INDEX "Conversation_lastMessagePreview_search_idx" ON "Conversation" USING gin ("search_text"("lastMessagePreview") gin_trgm_ops);
-- A contact's full name as contactFullNameSql writes it (concat_ws is not IMMUTABLE; || is).
CREATE INDEX "Contact_fullName_search_idx" ON "Contact" USING gin ("search_text"(COALESCE("fullName", "firstName" || COALESCE(' ' || NULLIF("lastName", ''), ''))) gin_trgm_ops);
CREATE INDEX "Contact_email_search_idx" ON "Contact" USING gin ("email" gin_trgm_ops);
CREATE INDEX "Contact_phone_search_idx" ON "Contact" USING gin ("phone" gin_trgm_ops);
