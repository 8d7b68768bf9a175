-- Search ignores accents as it ignores case (src/domain/contact-query.ts, searchable): a name
-- typed without them, "muller", finds "Müller". unaccent is a trusted extension (PostgreSQL 13+),
-- so a database owner may create it; PGlite loads it in src/db/client.ts.
CREATE EXTENSION IF NOT EXISTS unaccent;
