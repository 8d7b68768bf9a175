import { Prisma } from "../generated/prisma/client.js";
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, SqlQueryable, Transaction } from "@prisma/driver-adapter-utils";

export interface StatementRecord {
  sql: string;
  /** The bound parameters, as the driver receives them (the benchmark replays statements with them). */
  args: unknown[];
  durationMs: number;
}

type Listener = (statement: StatementRecord) => void;

const CALLER_CHECK_MARK = "/* caller check */";

/**
 * Marks a statement that checks the caller rather than serves the operation (an agent's standing,
 * read at most once per agent per AGENT_RECHECK_MS): `record` leaves these out.
 */
export const CALLER_CHECK = Prisma.raw(CALLER_CHECK_MARK);

/**
 * Sees every SQL statement sent through the driver adapter, by Prisma Client or by `readRows`.
 * Tests use it to pin how many statements an operation costs (the N+1 guard); metrics use it for
 * database time.
 */
export class SqlObserver {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` and returns the statements issued meanwhile, in order, but for caller checks. */
  async record<T>(fn: () => Promise<T>): Promise<{ result: T; statements: StatementRecord[] }> {
    const statements: StatementRecord[] = [];
    const unsubscribe = this.subscribe((s) => {
      if (!s.sql.includes(CALLER_CHECK_MARK)) statements.push(s);
    });
    try {
      return { result: await fn(), statements };
    } finally {
      unsubscribe();
    }
  }

  wrap(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
    const timed = <R>(run: (query: SqlQuery) => Promise<R>) => async (query: SqlQuery) => {
      const started = performance.now();
      try {
        return await run(query);
      } finally {
        this.emit({ sql: query.sql, args: query.args, durationMs: performance.now() - started });
      }
    };
    const observe = <Q extends SqlQueryable>(queryable: Q, extra: Partial<Q> = {}): Q =>
      withOverrides(queryable, { queryRaw: timed((q) => queryable.queryRaw(q)), executeRaw: timed((q) => queryable.executeRaw(q)), ...extra });
    return withOverrides(factory, {
      connect: async (): Promise<SqlDriverAdapter> => {
        const adapter = await factory.connect();
        return observe(adapter, {
          startTransaction: async (isolationLevel) => observe<Transaction>(await adapter.startTransaction(isolationLevel)),
        });
      },
    });
  }

  private emit(statement: StatementRecord): void {
    for (const listener of this.listeners) listener(statement);
  }
}

/** `target` with some members replaced. A Proxy, not a copy: adapters keep state a copy would lose. */
function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, prop) {
      if (prop in overrides) return overrides[prop as keyof T];
      const value: unknown = Reflect.get(object, prop, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}
