import { readRows } from "../db/adapter-reads.js";
import { PREPARED } from "../db/prepared-statements.js";
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import { DomainError } from "./errors.js";
import { type IdKind, idKind } from "./ids.js";
import { type Join, type Joined, joinedRecords, joinSql } from "./joins.js";

/** Relay connection arguments as a client sends them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * One way of ordering a list: a SQL expression that is never NULL (so one row comparison pages
 * through it), its SQL type (cursors carry the key as text), and a direction. Ties break on id.
 */
export interface SortKey {
  name: string;
  expr: Prisma.Sql;
  type: "timestamptz" | "integer";
  direction: "ASC" | "DESC";
}

/** A position in an ordering: the sort key rendered as text, and the id that breaks ties. */
interface Cursor {
  key: string;
  id: string;
}

/**
 * Which rows a page holds, after Relay's pagination algorithm: the rows strictly between the
 * `after` and `before` cursors (each optional), then the first or last `limit` of them.
 */
export interface PageWindow {
  limit: number;
  /** Whether the page is the last `limit` rows of the range, read by walking the order in reverse. */
  backward: boolean;
  after: Cursor | null;
  before: Cursor | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** A row as the page query returns it: the record plus its sort key rendered as text. */
export type KeyedRow<T> = T & { sortKey: string };

/** A page of the list of `kind` records in the `sort` order: its cursors must be of that list. */
export function pageWindow(args: PageArgs, sort: SortKey, kind: IdKind): PageWindow {
  if (args.first != null && args.last != null) {
    throw new DomainError("BAD_USER_INPUT", 'Pass either "first" or "last", not both.', { field: "last" });
  }
  const backward = args.last != null || (args.before != null && args.after == null && args.first == null);
  const field = backward ? "last" : "first";
  const limit = (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE_SIZE) {
    throw new DomainError("BAD_USER_INPUT", `"${field}" must be between 0 and ${MAX_PAGE_SIZE}.`, { field });
  }
  return {
    limit,
    backward,
    after: args.after == null ? null : decodeCursor(args.after, sort, kind, "after"),
    before: args.before == null ? null : decodeCursor(args.before, sort, kind, "before"),
  };
}

function encodeCursor(sort: SortKey, key: string, id: string): string {
  return Buffer.from(JSON.stringify([sortName(sort), key, id])).toString("base64url");
}

function sortName(sort: SortKey): string {
  return `${sort.name}:${sort.direction}`;
}

function decodeCursor(cursor: string, sort: SortKey, kind: IdKind, field: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = null;
  }
  const refuse = (why: string) => new DomainError("BAD_USER_INPUT", `"${field}" ${why}`, { field });
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === "string")) throw refuse("is not a cursor this API issued.");
  const [name, key, id] = parsed as [string, string, string];
  // Another list's cursor would page from wherever its key falls in this one.
  const of = idKind(id);
  if (of !== kind) throw refuse(of ? `is a cursor of another list (of ${of} records, not ${kind} records).` : "is not a cursor this API issued.");
  if (name !== sortName(sort)) throw refuse(`belongs to another ordering (${name}); page with the orderBy it came from.`);
  // The key is cast to the sort's type in SQL: one the database would refuse is refused here, so
  // a cursor made up by hand is the client's error, not the server's.
  if (!isKeyOfType(key, sort.type)) throw refuse("is not a cursor this API issued.");
  return { key, id };
}

// How PostgreSQL renders the two key types as text (ISO DateStyle; the offset follows TimeZone,
// and PostgreSQL takes offsets up to 15:59:59); a list may sort rows without a time at either end
// with ±infinity.
const TIMESTAMPTZ_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](0\d|1[0-5])(:[0-5]\d){0,2}$/;
const INT4_RANGE = 2 ** 31;

function isKeyOfType(key: string, type: SortKey["type"]): boolean {
  if (type === "integer") return /^-?\d{1,10}$/.test(key) && Math.abs(Number(key)) < INT4_RANGE;
  if (key === "infinity" || key === "-infinity") return true;
  const parts = TIMESTAMPTZ_TEXT.exec(key);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // setUTCFullYear, not Date.UTC, which reads years 0 to 99 as 1900 to 1999; PostgreSQL has no year 0.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  return year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

/**
 * The ORDER BY, keyset condition and LIMIT for one page. The condition is a single row comparison
 * on (key, id), so an index on the same expressions starts the scan at the cursor: page 1,000
 * costs what page 1 costs.
 */
function pageClauses(sort: SortKey, window: PageWindow, idColumn: Prisma.Sql) {
  // Paging backwards walks the order in reverse, then the rows are flipped back.
  const descending = (sort.direction === "DESC") !== window.backward;
  const dir = Prisma.raw(descending ? "DESC" : "ASC");
  const beyond = (cursor: Cursor | null, later: boolean) => {
    if (!cursor) return null;
    const operator = later === (sort.direction === "ASC") ? ">" : "<";
    return Prisma.sql`(${sort.expr}, ${idColumn}) ${Prisma.raw(operator)} (CAST(${cursor.key} AS ${Prisma.raw(sort.type)}), ${cursor.id})`;
  };
  const bounds = [beyond(window.after, true), beyond(window.before, false)].filter((bound) => bound !== null);
  return {
    keyset: bounds.length ? Prisma.join(bounds, " AND ") : Prisma.sql`TRUE`,
    orderBy: Prisma.sql`${sort.expr} ${dir}, ${idColumn} ${dir}`,
    sortKey: Prisma.sql`CAST(${sort.expr} AS text)`,
    // Written into the text (pageWindow bounds it to 1 to 101), not bound: with a bound LIMIT the
    // generic plan of a prepared statement is costed for 10% of the rows, and PostgreSQL then plans
    // the page again on every execution (db/prepared-statements.ts).
    limit: Prisma.raw(`LIMIT ${window.limit + 1}`),
  };
}

/**
 * An edge whose cursor is encoded when it is read: lists mostly ask for pageInfo.endCursor
 * alone, and encoding every edge's cursor anyway took about 35 µs of a 50-row page. The node
 * keeps its sortKey, which no GraphQL field shows.
 */
class PageEdge<T extends { id: string }> implements Edge<T> {
  constructor(
    readonly node: KeyedRow<T>,
    private readonly sort: SortKey,
  ) {}

  get cursor(): string {
    return encodeCursor(this.sort, this.node.sortKey, this.node.id);
  }
}

/** Turns the rows of a page query (limit + 1 of them) into edges and pageInfo. */
export function toConnection<T extends { id: string }>(rows: KeyedRow<T>[], window: PageWindow, sort: SortKey) {
  const hasMore = rows.length > window.limit;
  const page = rows.slice(0, window.limit);
  if (window.backward) page.reverse();
  const edges: Edge<T>[] = page.map((row) => new PageEdge<T>(row, sort));
  // Rows beyond the far cursor exist (the cursor's own row, at least), as Relay lets a server say.
  const pageInfo: PageInfo = {
    hasNextPage: (!window.backward && hasMore) || window.before !== null,
    hasPreviousPage: (window.backward && hasMore) || window.after !== null,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges.at(-1)?.cursor ?? null,
  };
  return { edges, pageInfo };
}

/** One page of `table` (aliased `t`, which `where` and the sort key refer to). */
interface PageQuery {
  table: string;
  where: Prisma.Sql;
  sort: SortKey;
  window: PageWindow;
  partition?: { column: string; ids: readonly string[] };
  /** The columns to read (all when absent). */
  columns?: readonly string[];
  joins?: readonly Join[];
  /** Whether its best plan is the same for any values, so it may be prepared (db/prepared-statements.ts). */
  prepared?: boolean;
}

/**
 * The SQL of one page. With a partition, it pages each parent's rows separately in one statement
 * (a LATERAL join per parent id), so a nested list under N parents costs one query, not N.
 */
function pageQuery(q: PageQuery): Prisma.Sql {
  const table = Prisma.raw(`"${q.table}"`);
  const c = pageClauses(q.sort, q.window, Prisma.sql`t."id"`);
  const columns = q.columns ? columnList(q.columns) : Prisma.sql`t.*`;
  const joins = joinSql(q.joins ?? []);
  const select = Prisma.sql`SELECT ${columns}, ${c.sortKey} AS "sortKey"${joins.columns} FROM ${table} t${joins.from}`;
  const mark = Prisma.raw(q.prepared ? PREPARED : "");
  if (!q.partition) {
    return Prisma.sql`${mark}${select} WHERE ${q.where} AND ${c.keyset} ORDER BY ${c.orderBy} ${c.limit}`;
  }
  const column = Prisma.raw(`t."${q.partition.column}"`);
  return Prisma.sql`${mark}SELECT p."parentId", page.* FROM unnest(${textArray(q.partition.ids)}) AS p("parentId")
    CROSS JOIN LATERAL (
      ${select} WHERE ${column} = p."parentId" AND ${q.where} AND ${c.keyset} ORDER BY ${c.orderBy} ${c.limit}
    ) page`;
}

/**
 * Runs a page query and reads the joined records off its rows. An empty page (first: 0) still
 * reads one row, which says whether there are more. `Row` is what a row holds besides its sort
 * key (with a partition, also its parentId).
 */
export async function readPage<Row extends object>(db: PrismaClient, q: PageQuery): Promise<{ rows: KeyedRow<Row>[]; joined: Joined[] }> {
  const rows = await readRows<KeyedRow<Row>>(db, pageQuery(q));
  return { rows, joined: joinedRecords(rows, q.joins ?? []) };
}

/** The rows of `table` (aliased `t`) that `where` matches: a list's totalCount. */
export async function countRows(db: PrismaClient, table: string, where: Prisma.Sql): Promise<number> {
  const [{ count }] = await readRows<{ count: number }>(db, Prisma.sql`SELECT count(*)::int AS count FROM ${Prisma.raw(`"${table}"`)} t WHERE ${where}`);
  return count;
}

/**
 * The totalCount of each parent's list in a partitioned page: one statement for all the parents,
 * run when the first of them is asked for, so a nested list's totalCount under N parents costs one
 * query, not N.
 */
export function countsByParent(db: PrismaClient, table: string, where: Prisma.Sql, partition: { column: string; ids: readonly string[] }) {
  let counts: Promise<Map<string, number>> | undefined;
  return async (parentId: string): Promise<number> => {
    counts ??= readRows<{ parentId: string; count: number }>(
      db,
      Prisma.sql`
      SELECT t.${Prisma.raw(`"${partition.column}"`)} AS "parentId", count(*)::int AS count FROM ${Prisma.raw(`"${table}"`)} t
      WHERE t.${Prisma.raw(`"${partition.column}"`)} = ANY(${textArray(partition.ids)}) AND ${where} GROUP BY 1`,
    ).then(
      (rows) => new Map(rows.map((row) => [row.parentId, row.count])),
    );
    return (await counts).get(parentId) ?? 0;
  };
}

/** Newest first, for lists without a choice of order (contacts, a conversation's timeline). */
export const NEWEST_FIRST: SortKey = { name: "CREATED_AT", direction: "DESC", type: "timestamptz", expr: Prisma.sql`t."createdAt"` };

/**
 * The rows of a partitioned page, per parent id in the order given. They keep their parentId, which
 * no field reads: copying each row without it cost more than the column weighs.
 */
export function rowsByParent<T>(rows: KeyedRow<T & { parentId: string }>[], parentIds: readonly string[]): KeyedRow<T>[][] {
  const groups = new Map<string, KeyedRow<T>[]>(parentIds.map((id) => [id, []]));
  for (const row of rows) groups.get(row.parentId)?.push(row);
  return parentIds.map((id) => groups.get(id) ?? []);
}

/** Columns of a table aliased `alias`, for raw SQL; the names must come from the schema, not from input. */
export function columnList(columns: readonly string[], alias = "t"): Prisma.Sql {
  return Prisma.raw(columns.map((c) => `${alias}."${c}"`).join(", "));
}

/**
 * A text[] parameter for raw SQL. Prisma's raw queries through driver adapters do not bind JS
 * arrays as arrays, so lists travel as a PostgreSQL array literal, every element quoted.
 */
export function textArray(values: readonly string[]): Prisma.Sql {
  const literal = `{${values.map((v) => `"${v.replace(/["\\]/g, (ch) => `\\${ch}`)}"`).join(",")}}`;
  return Prisma.sql`CAST(${literal} AS text[])`;
}

/**
 * `column` equals any of `values`, cast to the enum `type`. A single value is written as plain
 * equality, which lets an index on (…, column, sort key) also deliver the order: `= ANY(array)`
 * does not, even for one element.
 */
export function oneOf(column: Prisma.Sql, values: readonly string[], type: string): Prisma.Sql {
  const enumType = Prisma.raw(`"${type}"`);
  return values.length === 1
    ? Prisma.sql`${column} = CAST(${values[0]} AS ${enumType})`
    : Prisma.sql`${column} = ANY(CAST(${textArray(values)} AS ${enumType}[]))`;
}
