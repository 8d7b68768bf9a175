import type pg from "pg";

/** How many distinct statements an instance prepares when DATABASE_STATEMENT_CACHE_SIZE is unset. */
export const DEFAULT_STATEMENT_CACHE_SIZE = 100;

/**
 * Makes every connection of `pool` run each parameterized statement as a named prepared statement,
 * for the first `capacity` distinct statement texts the process runs; the others, and statements
 * without parameters (BEGIN, COMMIT), run unnamed as before. A connection parses a named statement
 * once, and PostgreSQL may then keep one generic plan for it instead of planning every execution:
 * planning was half of what an inbox page cost the server (bench/README.md, lever 30). The cap
 * bounds what each connection holds; a connection's prepared statements go with it. 0: none.
 * PgBouncer in transaction mode before 1.21 cannot carry prepared statements: set 0 behind one.
 */
export function prepareStatements(pool: pg.Pool, capacity: number): void {
  if (capacity === 0) return;
  const names = new Map<string, string>();
  let made = 0;
  /** The statement's text and the name it runs under, or null to run it unnamed. */
  const nameFor = (config: unknown): { text: string; name: string } | null => {
    // Prisma's adapter passes a query config object with its values; a string is a script.
    if (typeof config !== "object" || config === null || "name" in config) return null;
    const { text, values } = config as { text?: unknown; values?: unknown };
    if (typeof text !== "string" || !Array.isArray(values) || values.length === 0) return null;
    let name = names.get(text);
    if (name === undefined && names.size < capacity) names.set(text, (name = `s${++made}`));
    return name === undefined ? null : { text, name };
  };
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (config: unknown, ...rest: unknown[]) => unknown;
    client.query = ((config: unknown, ...rest: unknown[]) => {
      const statement = nameFor(config);
      if (!statement) return query(config, ...rest);
      const result = query({ ...(config as object), name: statement.name }, ...rest);
      // A statement prepared before a migration changed its table's columns fails (0A000, "cached
      // plan must not change result type"), as does one a DISCARD ALL dropped (26000): that run
      // fails, and the next one prepares it again under a new name, on every connection.
      if (result instanceof Promise) {
        result.catch((error: { code?: string }) => {
          if ((error.code === "0A000" || error.code === "26000") && names.get(statement.text) === statement.name) names.delete(statement.text);
        });
      }
      return result;
    }) as typeof client.query;
  });
}
