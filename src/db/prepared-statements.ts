import pg from "pg";

/** How many statements an instance keeps prepared when DATABASE_STATEMENT_CACHE_SIZE is unset. */
export const DEFAULT_STATEMENT_CACHE_SIZE = 100;

/**
 * Starts the text of a statement whose best plan does not depend on its values (the caller knows:
 * an index delivers its rows in order with no condition left over). Only such statements are
 * prepared: for any other, a plan made without its values can be a bad one for some of them
 * (bench/README.md, lever 30: six times the server's CPU for a filtered inbox).
 */
export const PREPARED = "/* prepared */ ";

/** Errors of a named statement that is stale on its connection: its table's columns changed (0A000), or DISCARD ALL dropped it (26000). */
const STALE = new Set(["0A000", "26000"]);

type Query = (config: unknown, values?: unknown, callback?: unknown) => Promise<unknown>;

/**
 * A pool of `config.max` connections. With a `capacity` and at least two connections, half of
 * them serve the statements marked PREPARED that run on their own, outside a transaction: each
 * runs there as a named prepared statement, parsed once per connection, and planned once, without
 * its values (`plan_cache_mode = force_generic_plan`). Left to choose, PostgreSQL kept planning a
 * page after a cursor and a read by ids on every run: it costs their plans made without the values
 * above those made with them, although the index scan is the same (lever 34). And no plan there
 * sorts (`enable_sort = off`): an index delivers each of these statements in order, and a Sort is
 * only the planner's bet that there are few rows, as it bet on a conversation's messages (10 on
 * average) and read all 20,000 of a long thread to show its last 31 (lever 35). Every other
 * statement runs unnamed on the other connections, planned for its values. The `capacity` marked
 * texts used most recently are the ones prepared, which bounds what each connection holds: texts
 * pushed out are deallocated on each connection when it is next handed out. 0: none, as behind
 * PgBouncer in transaction mode, which cannot carry a connection's statements or settings.
 */
export function openPool(config: pg.PoolConfig & { max: number }, capacity: number): pg.Pool {
  const preparedConnections = capacity === 0 ? 0 : Math.floor(config.max / 2);
  if (preparedConnections === 0) return new pg.Pool(config);
  const pool = new pg.Pool({ ...config, max: config.max - preparedConnections });
  const prepared = new pg.Pool({
    ...config,
    max: preparedConnections,
    // pg-pool awaits it before the connection runs anything; a connection it fails on is closed.
    onConnect: (client) => client.query("SET plan_cache_mode = force_generic_plan; SET enable_sort = off"),
  });
  // An idle connection that loses its server must not crash the process; the next query reports it.
  prepared.on("error", () => undefined);

  // Each prepared text's name, the least recently used first.
  const names = new Map<string, string>();
  let made = 0;
  // Texts forgotten so far (pushed out, or stale), and how many each connection has caught up with.
  let forgotten = 0;
  const caughtUp = new WeakMap<pg.PoolClient, number>();
  const forget = (text: string) => {
    names.delete(text);
    forgotten++;
  };
  // Names are never reused, so a forgotten statement left on a connection is only memory: a
  // connection catches up once a tenth of the capacity has been forgotten since it last did. It
  // holds at most that many more, and a workload cycling through more texts than the cache holds
  // pays a round trip per tenth, not per text.
  const slack = Math.max(1, Math.floor(capacity / 10));
  prepared.on("connect", (client) => caughtUp.set(client, forgotten));
  // A connection that is behind drops the forgotten statements it holds before it runs anything
  // else: from the driver's record (pg's `parsedStatements`, by which it decides to send a Parse)
  // and from the server, in one round trip ahead of the query it was handed out for.
  prepared.on("acquire", (client) => {
    if (forgotten - (caughtUp.get(client) ?? 0) < slack) return;
    caughtUp.set(client, forgotten);
    const parsed = (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
    const dropped = Object.keys(parsed).filter((name) => names.get(parsed[name]!) !== name);
    if (dropped.length === 0) return;
    for (const name of dropped) delete parsed[name];
    // After a DISCARD ALL the server holds none, and this fails (26000) with nothing left to drop;
    // the query it precedes runs all the same.
    client.query(dropped.map((name) => `DEALLOCATE ${name};`).join(" ")).catch(() => undefined);
  });
  /** Whether the statement is marked and has values: Prisma's adapter passes a query config object with them; a string is a script. */
  const isMarked = (statement: unknown): statement is { text: string; values: unknown[] } => {
    if (typeof statement !== "object" || statement === null || "name" in statement) return false;
    const { text, values } = statement as { text?: unknown; values?: unknown };
    return typeof text === "string" && text.startsWith(PREPARED) && Array.isArray(values) && values.length > 0;
  };

  const unnamed = pool.query.bind(pool) as Query;
  const run = prepared.query.bind(prepared) as Query;
  pool.query = ((statement: unknown, values?: unknown, callback?: unknown) => {
    if (!isMarked(statement) || typeof values === "function" || callback !== undefined) return unnamed(statement, values, callback);
    const { text } = statement;
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= capacity) forget(names.keys().next().value!);
      name = `s${++made}`;
    } else names.delete(text);
    names.set(text, name);
    // A stale statement is forgotten, so the next run prepares it again under a new name on every
    // connection, and this run is answered unnamed: a migration costs no request an error.
    return run({ ...statement, name }, values).catch((error: { code?: string }) => {
      if (!STALE.has(error.code ?? "")) throw error;
      if (names.get(text) === name) forget(text);
      return run(statement, values);
    });
  }) as typeof pool.query;
  const end = pool.end.bind(pool);
  pool.end = (async () => {
    await Promise.all([end(), prepared.end()]);
  }) as typeof pool.end;
  return pool;
}
