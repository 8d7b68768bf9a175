import { Prisma } from "../generated/prisma/client.js";

/**
 * A record each row of a statement points to by id (a conversation's contact, its assignee), read in the
 * same statement as the rows: a LEFT JOIN by primary key costs the database little, while a
 * statement of its own costs the gateway a round trip and a pass through Prisma's client.
 */
export interface Join {
  /** The GraphQL field that shows the record; its columns come back as "field.column". */
  field: string;
  table: string;
  /** The column of the rows' table that holds the record's id. */
  foreignKey: string;
  columns: readonly string[];
}

/** The records of one join, by id, as `splitJoins` takes them off the rows. */
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

/** Takes the joined columns off the rows of a statement, as one record per id for each join. */
export function splitJoins<R extends object>(rows: R[], joins: readonly Join[]): { rows: R[]; joined: Joined[] } {
  if (!joins.length) return { rows, joined: [] };
  const joined: Joined[] = joins.map((join) => ({ join, records: new Map() }));
  const owner = new Map<string, { i: number; column: string }>(joins.flatMap((j, i) => j.columns.map((column) => [`${j.field}.${column}`, { i, column }])));
  // Every row of a statement has the same columns: sort them out once, from the first row.
  const keys = rows.length ? Object.keys(rows[0]) : [];
  const targets = keys.map((key) => owner.get(key));
  const own = rows.map((row) => {
    const values = row as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    const records: Record<string, unknown>[] = joins.map(() => ({}));
    keys.forEach((key, k) => {
      const target = targets[k];
      if (target) records[target.i][target.column] = values[key];
      else fields[key] = values[key];
    });
    records.forEach((record, i) => {
      // A LEFT JOIN that found nothing (no assignee) gives a null id.
      if (typeof record.id === "string") joined[i].records.set(record.id, record as { id: string });
    });
    return fields as R;
  });
  return { rows: own, joined };
}
