import type pg from "pg";

/** How many distinct statements an instance prepares when DATABASE_STATEMENT_CACHE_SIZE is unset. */
export const DEFAULT_STATEMENT_CACHE_SIZE = 100;

/**
 * Starts the text of a statement whose best plan does not depend on its values (the caller knows:
 * an index delivers its rows in order with no condition left over). Only such statements are
 * prepared: for any other, the generic plan PostgreSQL keeps after five executions can be a bad one
 * for some values (bench/README.md, lever 30: six times the server's CPU for a filtered inbox).
 */
export const PREPARED = "/* prepared */ ";

/** Errors of a named statement that is stale on its connection: its table's columns changed (0A000), or DISCARD ALL dropped it (26000). */
const STALE = new Set(["0A000", "26000"]);

/**
 * Makes every connection of `pool` run each parameterized statement marked PREPARED as a named
 * prepared statement, for the first `capacity` distinct texts the process runs; everything else
 * runs unnamed as before. A connection then parses the statement once, and PostgreSQL keeps one
 * plan for it instead of planning every execution: planning was half of what an inbox page cost
 * the server (lever 33). The cap bounds what each connection holds, which goes with the
 * connection. 0: none, as behind PgBouncer in transaction mode before 1.21.
 */
export function prepareStatements(pool: pg.Pool, capacity: number): void {
  if (capacity === 0) return;
  const names = new Map<string, string>();
  let made = 0;
  /** The name a statement runs under, or null to run it unnamed. */
  const nameFor = (config: unknown): string | null => {
    // Prisma's adapter passes a query config object with its values; a string is a script.
    if (typeof config !== "object" || config === null || "name" in config) return null;
    const { text, values } = config as { text?: unknown; values?: unknown };
    if (typeof text !== "string" || !text.startsWith(PREPARED) || !Array.isArray(values) || values.length === 0) return null;
    let name = names.get(text);
    if (name === undefined && names.size < capacity) names.set(text, (name = `s${++made}`));
    return name ?? null;
  };
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (config: unknown, ...rest: unknown[]) => Promise<unknown>;
    client.query = ((config: unknown, ...rest: unknown[]) => {
      const name = nameFor(config);
      if (name === null) return query(config, ...rest);
      // The pool's own query() passes a callback last; a checked-out client is asked for a promise.
      const done = typeof rest.at(-1) === "function" ? (rest.pop() as (error: unknown, result?: unknown) => void) : null;
      const { text } = config as { text: string };
      // A stale statement is forgotten, so the next run prepares it again under a new name on
      // every connection, and this run is answered unnamed: a migration costs no request an error.
      // Inside a transaction the failure has already aborted it, and the rerun says so.
      const result = query({ ...(config as object), name }, ...rest).catch((error: { code?: string }) => {
        if (!STALE.has(error.code ?? "")) throw error;
        if (names.get(text) === name) names.delete(text);
        return query(config, ...rest);
      });
      if (!done) return result;
      result.then((rows) => done(undefined, rows), done);
    }) as typeof client.query;
  });
}
