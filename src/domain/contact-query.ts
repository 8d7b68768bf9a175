import { Prisma, type Contact, type PrismaClient } from "../generated/prisma/client.js";
import type { Channel, ContactStatus } from "../generated/prisma/enums.js";
import { type PageArgs, countRows, NEWEST_FIRST, oneOf, pageWindow, readPage, toConnection } from "./paging.js";
import { optionalText } from "./text.js";
import { MAX_SUBJECT_LENGTH } from "./conversations.js";

export interface ContactFilter {
  search?: string | null;
  status?: ContactStatus[] | null;
  preferredChannel?: Channel[] | null;
}

/**
 * The longest search term: as long as the longest subject. Past about that, every character
 * costs: at 100,000 conversations the planner turns from the trigram indexes to reading every row
 * (0.2 s at 254 characters, 4.4 s at 3,000; bench/README.md, lever 32).
 */
export const MAX_SEARCH_LENGTH = MAX_SUBJECT_LENGTH;

/** A filter's search term: trimmed, null when blank, BAD_USER_INPUT when longer than MAX_SEARCH_LENGTH. */
export function searchTerm(search: string | null | undefined): string | null {
  return optionalText(search ?? null, "filter.search", MAX_SEARCH_LENGTH);
}

/** `%term%` for ILIKE, with the pattern characters of the term taken literally. */
export function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * Whether the trigram indexes can find a term's matches: pg_trgm reads a pattern by its runs of
 * letters and digits, and from a term with no run of three ("x", "mü", "e.c") it gets nothing
 * to look up, so its index scans return every row.
 */
export function trigramSearchable(term: string): boolean {
  return /[\p{L}\p{N}]{3}/u.test(term);
}

/**
 * A contact's full name: as set, or its first and last name (the columns of graphql/selection.ts's
 * NEEDS for fullName). The same rule as SQL, for the contact aliased `alias`, follows.
 */
export function contactFullName(contact: Pick<Contact, "fullName" | "firstName" | "lastName">): string {
  return contact.fullName ?? [contact.firstName, contact.lastName].filter(Boolean).join(" ");
}

// Written exactly as the expression of the index Contact_fullName_search_idx (migration 20261206040000_search_indexes).
function contactFullNameSql(alias: string): Prisma.Sql {
  const a = (column: string) => Prisma.raw(`${alias}."${column}"`);
  return Prisma.sql`COALESCE(${a("fullName")}, ${a("firstName")} || COALESCE(' ' || NULLIF(${a("lastName")}, ''), ''))`;
}

/**
 * Whether a text matches a search pattern (containsPattern) whatever its case and accents: "muller"
 * finds "Müller". search_text is unaccent as an index can use it, and each text search looks in
 * has a trigram index on it (migrations 20261206030000_search_unaccent, 20261206040000_search_indexes).
 */
export function searchable(text: Prisma.Sql, pattern: string): Prisma.Sql {
  return Prisma.sql`"search_text"(${text}) ILIKE "search_text"(${pattern})`;
}

/** Whether the contact aliased `alias` matches a search pattern: its full name, email or phone. */
export function contactMatches(alias: string, pattern: string): Prisma.Sql {
  const a = (column: string) => Prisma.raw(`${alias}."${column}"`);
  return Prisma.sql`(${searchable(contactFullNameSql(alias), pattern)} OR ${a("email")} ILIKE ${pattern} OR ${a("phone")} ILIKE ${pattern})`;
}

function contactWhere(workspaceId: string, filter: ContactFilter | null | undefined): Prisma.Sql {
  const parts = [Prisma.sql`t."workspaceId" = ${workspaceId}`];
  if (filter?.status) parts.push(oneOf(Prisma.sql`t."status"`, filter.status, "ContactStatus"));
  if (filter?.preferredChannel) parts.push(oneOf(Prisma.sql`t."preferredChannel"`, filter.preferredChannel, "Channel"));
  const term = searchTerm(filter?.search);
  if (term) parts.push(contactMatches("t", containsPattern(term)));
  return Prisma.join(parts, " AND ");
}

export async function listContacts(db: PrismaClient, workspaceId: string, args: PageArgs & { filter?: ContactFilter | null }) {
  const window = pageWindow(args, NEWEST_FIRST, "contact");
  const where = contactWhere(workspaceId, args.filter);
  const { rows } = await readPage<Contact>(db, { table: "Contact", where, sort: NEWEST_FIRST, window });
  return {
    ...toConnection(rows, window, NEWEST_FIRST),
    totalCount: () => countRows(db, "Contact", where),
  };
}
