import { readRows } from "../db/adapter-reads.js";
import { Prisma, type Conversation, type PrismaClient } from "../generated/prisma/client.js";
import type { Channel, ConversationPriority, ConversationStatus } from "../generated/prisma/enums.js";
import { contactMatches, containsPattern, searchTerm, searchable, trigramSearchable } from "./contact-query.js";
import { normalizeLabelList } from "./labels.js";
import { badInput } from "./errors.js";
import { requireId } from "./ids.js";
import type { Join } from "./joins.js";
import { type PageArgs, type SortKey, countRows, countsByParent, oneOf, pageWindow, readPage, rowsByParent, textArray, toConnection } from "./paging.js";

/**
 * Which conversations a list, a count or a live feed covers. This module is the one place that
 * says what a ConversationFilter means, so the inbox list, the sidebar counts and subscription
 * filters agree.
 */
export interface ConversationFilter {
  status?: ConversationStatus[] | null;
  channel?: Channel[] | null;
  priority?: ConversationPriority[] | null;
  assignedToId?: string | null;
  unassigned?: boolean | null;
  labels?: string[] | null;
  contactId?: string | null;
  hasUnread?: boolean | null;
  search?: string | null;
  updatedAfter?: Date | null;
}

export const CONVERSATION_ORDER_FIELDS = ["LAST_MESSAGE_AT", "CREATED_AT", "UPDATED_AT", "PRIORITY", "UNREAD_COUNT"] as const;
export type ConversationOrderField = (typeof CONVERSATION_ORDER_FIELDS)[number];

export interface ConversationOrder {
  field?: ConversationOrderField | null;
  direction?: "ASC" | "DESC" | null;
}

// Nullable fields sort last in both directions: the NULL stand-in is the far end of the range.
const PRIORITY_RANK = (nullRank: number) =>
  Prisma.sql`(CASE t."priority" WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE ${Prisma.raw(String(nullRank))} END)`;

function sortKey(order: ConversationOrder | null | undefined): SortKey {
  const field = order?.field ?? "LAST_MESSAGE_AT";
  const direction = order?.direction ?? "DESC";
  const desc = direction === "DESC";
  switch (field) {
    case "LAST_MESSAGE_AT":
      // Matches the expression indexes of the init migration, so the default inbox is an index scan.
      return {
        name: field,
        direction,
        type: "timestamptz",
        expr: desc
          ? Prisma.sql`COALESCE(t."lastMessageAt", '-infinity'::timestamptz)`
          : Prisma.sql`COALESCE(t."lastMessageAt", 'infinity'::timestamptz)`,
      };
    case "CREATED_AT":
      return { name: field, direction, type: "timestamptz", expr: Prisma.sql`t."createdAt"` };
    case "UPDATED_AT":
      return { name: field, direction, type: "timestamptz", expr: Prisma.sql`t."updatedAt"` };
    case "PRIORITY":
      return { name: field, direction, type: "integer", expr: PRIORITY_RANK(desc ? 0 : 4) };
    case "UNREAD_COUNT":
      return { name: field, direction, type: "integer", expr: Prisma.sql`t."unreadCount"` };
  }
}

/**
 * The conditions on the columns a conversation and its tally rows share (conversation-tallies.ts),
 * on a table aliased `t`: so the counts read from tallies mean exactly what the list means.
 */
function keyConditions(workspaceId: string, f: ConversationFilter): Prisma.Sql[] {
  // The lists are "any of": an empty one matches nothing (an inbox with every status unticked is empty).
  const parts: Prisma.Sql[] = [Prisma.sql`t."workspaceId" = ${workspaceId}`];
  if (f.status) parts.push(oneOf(Prisma.sql`t."status"`, f.status, "ConversationStatus"));
  if (f.channel) parts.push(oneOf(Prisma.sql`t."channel"`, f.channel, "Channel"));
  if (f.priority) parts.push(oneOf(Prisma.sql`t."priority"`, f.priority, "ConversationPriority"));
  if (f.assignedToId != null) {
    if (f.unassigned) throw badInput("filter.unassigned", 'Pass "assignedToId" or "unassigned: true", not both: together they match nothing.');
    parts.push(Prisma.sql`t."assignedToId" = ${requireId(f.assignedToId, "agent", "filter.assignedToId")}`);
  }
  if (f.unassigned != null) {
    parts.push(f.unassigned ? Prisma.sql`t."assignedToId" IS NULL` : Prisma.sql`t."assignedToId" IS NOT NULL`);
  }
  return parts;
}

/**
 * The SQL condition for a filter, on a conversation aliased `t`. `over` says what it is tested on:
 * a whole workspace's conversations (a list, a count), or a few already picked by id (a live
 * feed's batch, conversationsMatching). They differ only in how a search finds the conversations
 * of matching contacts: over the workspace it finds every matching contact first, through the
 * trigram indexes or one scan of the contacts; for a few rows it looks up each row's own contact
 * by key. Finding them all cost a feed's batch of 5 conversations 39 ms for a short term ("x",
 * "jo") and 3 ms for "müller" on the benchmark's 20,000 contacts.
 */
export function conversationWhere(workspaceId: string, filter: ConversationFilter | null | undefined, over: "workspace" | "picked" = "workspace"): Prisma.Sql {
  const f = filter ?? {};
  const parts = keyConditions(workspaceId, f);
  if (f.labels?.length) parts.push(Prisma.sql`t."labels" @> ${textArray(normalizeLabelList(f.labels, "filter.labels"))}`);
  if (f.contactId != null) parts.push(Prisma.sql`t."contactId" = ${requireId(f.contactId, "contact", "filter.contactId")}`);
  if (f.hasUnread != null) parts.push(f.hasUnread ? Prisma.sql`t."unreadCount" > 0` : Prisma.sql`t."unreadCount" = 0`);
  if (f.updatedAfter != null) parts.push(Prisma.sql`t."updatedAt" > ${f.updatedAfter}`);
  const term = searchTerm(f.search);
  if (term) {
    const p = containsPattern(term);
    const contactMatching = Prisma.sql`ct."workspaceId" = ${workspaceId} AND ${contactMatches("ct", p)}`;
    const matchingContacts = Prisma.sql`SELECT ct."id" FROM "Contact" ct WHERE ${contactMatching}`;
    // Over the workspace, a term the trigram indexes can look up: the matching contacts as an array
    // read once, so every arm of the OR is an index scan (trigram, trigram, contactId) and the scans
    // are OR-ed as bitmaps. Any other term: the trigram scans would return every row, each then
    // compared with that array one element at a time (13 s for "x", which every email of the
    // benchmark's contacts holds; bench/README.md, lever 31). A hashed set of the contacts costs
    // each row one probe. Picked rows: each one's contact, by its primary key.
    const ofMatchingContact =
      over === "picked"
        ? Prisma.sql`EXISTS (SELECT 1 FROM "Contact" ct WHERE ct."id" = t."contactId" AND ${contactMatching})`
        : trigramSearchable(term)
          ? Prisma.sql`t."contactId" = ANY(ARRAY(${matchingContacts}))`
          : Prisma.sql`t."contactId" IN (${matchingContacts})`;
    parts.push(Prisma.sql`(${searchable(Prisma.sql`t."subject"`, p)} OR ${searchable(Prisma.sql`t."lastMessagePreview"`, p)} OR ${ofMatchingContact})`);
  }
  return Prisma.join(parts, " AND ");
}

/**
 * The same condition on tally rows, or null when the filter narrows by something tallies do not
 * keep (labels, contact, search, updatedAfter): then only the conversations themselves can tell.
 */
function tallyWhere(workspaceId: string, filter: ConversationFilter | null | undefined): Prisma.Sql | null {
  const f = filter ?? {};
  if (f.labels?.length || f.contactId != null || searchTerm(f.search) || f.updatedAfter != null) return null;
  const parts = keyConditions(workspaceId, f);
  if (f.hasUnread != null) parts.push(f.hasUnread ? Prisma.sql`t."hasUnread"` : Prisma.sql`NOT t."hasUnread"`);
  return Prisma.join(parts, " AND ");
}

export interface ConversationListArgs extends PageArgs {
  filter?: ConversationFilter | null;
  orderBy?: ConversationOrder | null;
}

/** The columns a list reads; all of them when absent. */
type Columns = readonly string[] | undefined;

/**
 * The page's order when a search the trigram indexes can serve (trigramSearchable) narrows it.
 * Walking the order's index and testing each row for the term is quick when matches are common
 * but reads the whole workspace when they are rare (262 ms at 100,000 conversations for a term
 * nothing matches), and the planner cannot tell the two apart from a substring. Written so
 * that no index delivers it (`+ 0`), the order has the planner read the matches through the
 * trigram indexes and sort them. The values are the same, so cursors are too.
 */
function searchedOrder(sort: SortKey, filter: ConversationFilter | null | undefined): SortKey {
  if (!trigramSearchable(searchTerm(filter?.search) ?? "")) return sort;
  return { ...sort, expr: sort.type === "integer" ? Prisma.sql`(${sort.expr} + 0)` : Prisma.sql`(${sort.expr} + interval '0 seconds')` };
}

/**
 * Whether an index delivers the page with no condition left over, so that its best plan is the
 * same for any workspace, status, agent or cursor and its statement may be prepared: the
 * workspace alone in any order (each order has its index), or with one status
 * (Conversation_inbox_status_idx) or one agent (Conversation_inbox_assignee_idx) in the inbox
 * order. The inbox, its deep pages and an agent's own list are such pages. Any other filter's best
 * plan depends on its values (bench/README.md, lever 30).
 */
function indexDeliversPage(sort: SortKey, filter: ConversationFilter | null | undefined): boolean {
  // A null, an empty label list or a blank search narrows nothing (conversationWhere).
  const narrowing = Object.entries(filter ?? {}).filter(
    ([field, value]) => value != null && !(field === "labels" && (value as string[]).length === 0) && !(field === "search" && !searchTerm(value as string)),
  );
  if (narrowing.length === 0) return true;
  if (narrowing.length > 1 || sort.name !== "LAST_MESSAGE_AT" || sort.direction !== "DESC") return false;
  const [field, value] = narrowing[0]!;
  return field === "assignedToId" || (field === "status" && (value as string[]).length === 1);
}

export async function listConversations(
  db: PrismaClient,
  workspaceId: string,
  args: ConversationListArgs,
  columns?: Columns,
  joins: readonly Join[] = [],
) {
  const sort = searchedOrder(sortKey(args.orderBy), args.filter);
  const window = pageWindow(args, sort, "conversation");
  const where = conversationWhere(workspaceId, args.filter);
  const prepared = indexDeliversPage(sort, args.filter);
  const page = await readPage<Conversation>(db, { table: "Conversation", where, sort, window, columns, joins, prepared });
  return {
    ...toConnection(page.rows, window, sort),
    joined: page.joined,
    totalCount: () => {
      const tallies = tallyWhere(workspaceId, args.filter);
      return tallies ? sumTallies(db, tallies) : countRows(db, "Conversation", where);
    },
  };
}

/** One page of each contact's conversations, for many contacts in one statement, and the joined records. */
export async function listConversationsOfContacts(
  db: PrismaClient,
  workspaceId: string,
  contactIds: readonly string[],
  args: ConversationListArgs,
  columns?: Columns,
  joins: readonly Join[] = [],
) {
  const sort = searchedOrder(sortKey(args.orderBy), args.filter);
  const window = pageWindow(args, sort, "conversation");
  const where = conversationWhere(workspaceId, args.filter);
  const partition = { column: "contactId", ids: contactIds };
  const page = await readPage<Conversation & { parentId: string }>(db, { table: "Conversation", where, sort, window, columns, joins, partition });
  const countOf = countsByParent(db, "Conversation", where, partition);
  const pages = rowsByParent<Conversation>(page.rows, contactIds).map((own, i) => ({
    ...toConnection(own, window, sort),
    totalCount: () => countOf(contactIds[i]),
  }));
  return { pages, joined: page.joined };
}

async function sumTallies(db: PrismaClient, where: Prisma.Sql): Promise<number> {
  const [{ count }] = await readRows<{ count: number }>(db, Prisma.sql`SELECT COALESCE(sum(t."conversations"), 0)::int AS count FROM "ConversationTally" t WHERE ${where}`);
  return count;
}

export interface ConversationCounts {
  total: number;
  open: number;
  closed: number;
  archived: number;
  unassigned: number;
  withUnread: number;
  unreadMessages: number;
}

/**
 * The figures an inbox sidebar shows, over the conversations the filter matches: summed from the
 * tallies the write path keeps when the filter allows (a few thousand rows at most, whatever the
 * number of conversations), else counted from the conversations in one scan.
 */
export async function countConversations(
  db: PrismaClient,
  workspaceId: string,
  filter: ConversationFilter | null | undefined,
): Promise<ConversationCounts> {
  const tallies = tallyWhere(workspaceId, filter);
  const [row] = tallies
    ? await readRows<ConversationCounts>(
        db,
        Prisma.sql`
        SELECT COALESCE(sum(t."conversations"), 0)::int AS "total",
          COALESCE(sum(t."conversations") FILTER (WHERE t."status" = 'OPEN'), 0)::int AS "open",
          COALESCE(sum(t."conversations") FILTER (WHERE t."status" = 'CLOSED'), 0)::int AS "closed",
          COALESCE(sum(t."conversations") FILTER (WHERE t."status" = 'ARCHIVED'), 0)::int AS "archived",
          COALESCE(sum(t."conversations") FILTER (WHERE t."assignedToId" IS NULL), 0)::int AS "unassigned",
          COALESCE(sum(t."conversations") FILTER (WHERE t."hasUnread"), 0)::int AS "withUnread",
          COALESCE(sum(t."unreadMessages"), 0)::int AS "unreadMessages"
        FROM "ConversationTally" t WHERE ${tallies}`,
      )
    : await readRows<ConversationCounts>(
        db,
        Prisma.sql`
        SELECT count(*)::int AS "total",
          (count(*) FILTER (WHERE t."status" = 'OPEN'))::int AS "open",
          (count(*) FILTER (WHERE t."status" = 'CLOSED'))::int AS "closed",
          (count(*) FILTER (WHERE t."status" = 'ARCHIVED'))::int AS "archived",
          (count(*) FILTER (WHERE t."assignedToId" IS NULL))::int AS "unassigned",
          (count(*) FILTER (WHERE t."unreadCount" > 0))::int AS "withUnread",
          COALESCE(sum(t."unreadCount"), 0)::int AS "unreadMessages"
        FROM "Conversation" t WHERE ${conversationWhere(workspaceId, filter)}`,
      );
  return row;
}

/**
 * Filters per statement: PostgreSQL's select list holds at most 1,664 columns, and subscribers,
 * not the gateway, decide how many distinct filters a workspace has.
 */
const FILTERS_PER_STATEMENT = 500;

/**
 * Which of several conditions (conversationWhere's over "picked" rows, which mean the same as the
 * list's and the counts') each conversation matches now, for live feeds: every condition a column
 * of a statement, up to FILTERS_PER_STATEMENT to a statement.
 */
export async function conversationsMatching(
  db: PrismaClient,
  workspaceId: string,
  conversationIds: readonly string[],
  conditions: readonly Prisma.Sql[],
): Promise<Map<string, boolean[]>> {
  const matches = new Map(conversationIds.map((id) => [id, conditions.map(() => false)]));
  for (let first = 0; first < conditions.length; first += FILTERS_PER_STATEMENT) {
    const chunk = conditions.slice(first, first + FILTERS_PER_STATEMENT);
    const columns = chunk.map((condition, i) => Prisma.sql`(${condition}) AS ${Prisma.raw(`"f${i}"`)}`);
    const rows = await readRows<Record<string, unknown>>(
      db,
      Prisma.sql`SELECT t."id", ${Prisma.join(columns)} FROM "Conversation" t
      WHERE t."workspaceId" = ${workspaceId} AND t."id" = ANY(${textArray(conversationIds)})`,
    );
    for (const row of rows) {
      const matched = matches.get(row.id as string)!;
      chunk.forEach((_filter, i) => (matched[first + i] = row[`f${i}`] === true));
    }
  }
  return matches;
}
