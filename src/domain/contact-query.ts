import { Prisma, type Contact, type PrismaClient } from "../generated/prisma/client.js";
import type { Channel, ContactStatus } from "../generated/prisma/enums.js";
import { type PageArgs, countRows, NEWEST_FIRST, oneOf, pageWindow, readPage, toConnection } from "./paging.js";

export interface ContactFilter {
  search?: string | null;
  status?: ContactStatus[] | null;
  preferredChannel?: Channel[] | null;
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
  const term = filter?.search?.trim();
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
