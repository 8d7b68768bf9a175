import { Prisma } from "../generated/prisma/client.js";

/**
 * A record each row of a statement points to by id (a conversation's contact, its assignee), read in the
 * same statement as the rows: a LEFT JOIN by primary key costs the database little, while a
 * statement of its own costs the gateway a round trip and a pass through the driver.
 */
export interface Join {
  /** The GraphQL field that shows the record; its columns come back as "field.column". */
  field: string;
  table: string;
  /** The column of the rows' table that holds the record's id. */
  foreignKey: string;
  columns: readonly string[];
}

/** The records of one join, by id, as `joinedRecords` reads them off the rows. */
export interface Joined {
  join: Join;
  records: Map<string, { id: string }>;
}

/**
 * The SQL a join adds to a statement on a table aliased `t`: the columns to append to its select
 * list, and the LEFT JOINs to append to its FROM. Names come from the schema and the selection's
 * field names, never from input values.
 */
export function joinSql(joins: readonly Join[]): { columns: Prisma.Sql; from: Prisma.Sql } {
  return {
    columns: Prisma.raw(joins.flatMap((j, i) => j.columns.map((column) => `, j${i}."${column}" AS "${j.field}.${column}"`)).join("")),
    from: Prisma.raw(
      joins.map((j, i) => ` LEFT JOIN "${j.table}" j${i} ON j${i}."id" = t."${j.foreignKey}" AND j${i}."workspaceId" = t."workspaceId"`).join(""),
    ),
  };
}

/**
 * The records of each join, one per id, from the rows of a statement. The rows keep their joined
 * columns ("contact.email", …): no GraphQL field reads such a name, and copying every row without
 * them cost more than they weigh.
 */
export function joinedRecords(rows: readonly object[], joins: readonly Join[]): Joined[] {
  return joins.map((join) => {
    const keys = join.columns.map((column) => [column, `${join.field}.${column}`] as const);
    const idKey = `${join.field}.id`;
    const records = new Map<string, { id: string }>();
    for (const row of rows as readonly Record<string, unknown>[]) {
      const id = row[idKey];
      // A LEFT JOIN that found nothing (no assignee) gives a null id; a record on several rows is taken once.
      if (typeof id !== "string" || records.has(id)) continue;
      const record: Record<string, unknown> = {};
      for (const [column, key] of keys) record[column] = row[key];
      records.set(id, record as { id: string });
    }
    return { join, records };
  });
}
