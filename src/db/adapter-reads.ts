import { type ArgType, type ColumnType, ColumnTypeEnum, type SqlDriverAdapter, type SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";

/**
 * Reads sent to Prisma's driver adapter by the gateway itself instead of through `$queryRaw`.
 * Prisma Client 6 compiles a query plan for every raw query and converts each value twice on the
 * way out: a quarter to two fifths of the gateway's CPU for an inbox page (bench/README.md, levers
 * 38 and 42). The adapter is the one Prisma Client runs on, over the same pool and the same
 * `SqlObserver`, and the values come out as `$queryRaw` gives them (`test/adapter-reads.test.ts`).
 */
const adapters = new WeakMap<PrismaClient, () => Promise<SqlDriverAdapter>>();

/** Lets `readRows` on `prisma` use `factory`, the adapter factory that client was made with. */
export function readThroughAdapter(prisma: PrismaClient, factory: SqlDriverAdapterFactory): void {
  let adapter: Promise<SqlDriverAdapter> | undefined;
  adapters.set(prisma, () => (adapter ??= factory.connect()));
}

/**
 * The rows of a read-only statement, as `$queryRaw` returns them. On a client that
 * `readThroughAdapter` knows, straight through its adapter; on any other, a transaction's client
 * among them, through `$queryRaw`, so a read inside a transaction stays in it.
 */
export async function readRows<T>(db: PrismaClient, query: Prisma.Sql): Promise<T[]> {
  const adapter = adapters.get(db);
  if (!adapter) return db.$queryRaw<T[]>(query);
  const args = query.values;
  const result = await (await adapter()).queryRaw({ sql: query.text, args, argTypes: args.map(argType) });
  const convert = result.columnTypes.map(converterOf);
  const { columnNames } = result;
  return result.rows.map((values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      row[columnNames[i]!] = value === null ? null : convert[i]!(value);
    }
    return row as T;
  });
}

// The adapters need to be told only which values are dates (pg's driver would send a string as text).
const argType = (value: unknown): ArgType => ({ scalarType: value instanceof Date ? "datetime" : "unknown", arity: "scalar" });

const asIs = (value: unknown) => value;

/**
 * How each column type the adapters return becomes what `$queryRaw` gives: they hand dates, 64-bit
 * integers and JSON over as text. Types the schema does not use are refused rather than guessed.
 */
const converters: Partial<Record<ColumnType, (value: unknown) => unknown>> = {
  [ColumnTypeEnum.Int32]: asIs,
  [ColumnTypeEnum.Float]: asIs,
  [ColumnTypeEnum.Double]: asIs,
  [ColumnTypeEnum.Boolean]: asIs,
  [ColumnTypeEnum.Character]: asIs,
  [ColumnTypeEnum.Text]: asIs,
  [ColumnTypeEnum.Enum]: asIs,
  [ColumnTypeEnum.Uuid]: asIs,
  [ColumnTypeEnum.TextArray]: asIs,
  [ColumnTypeEnum.EnumArray]: asIs,
  [ColumnTypeEnum.DateTime]: (value) => new Date(value as string),
  [ColumnTypeEnum.Int64]: (value) => BigInt(value as string),
  [ColumnTypeEnum.Json]: (value) => JSON.parse(value as string),
};

function converterOf(type: ColumnType): (value: unknown) => unknown {
  const converter = converters[type];
  if (!converter) throw new Error(`readRows does not convert columns of the adapter's type ${type}; read them with $queryRaw`);
  return converter;
}
