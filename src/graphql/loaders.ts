import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import { readRows } from "../db/adapter-reads.js";
import { PREPARED } from "../db/prepared-statements.js";
import { Prisma, type Agent, type Contact, type Conversation, type ConversationActivity, type Message, type PrismaClient } from "../generated/prisma/client.js";
import { type Join, type Joined, joinedRecords, joinSql } from "../domain/joins.js";
import { columnList, textArray } from "../domain/paging.js";
import { allColumns, columnsFor, joinsFor, type Model } from "./selection.js";

type ById<T> = DataLoader<string, T | null>;

/**
 * Per-request batching: every record a request resolves by id goes through one of these, so a
 * page of 100 conversations costs one query for their contacts, not 100. Loaders only ever see
 * the caller's workspace: a record of another workspace loads as null, exactly like a missing one.
 *
 * Given the resolver's `info`, a loader reads only the columns that field's selection needs (one
 * loader per column set, so equal selections still share one query); the record then holds just
 * those columns, which is all the fields below it read. Without `info` it reads every column.
 * The to-one relations the selection asks for and `joinsFor` knows (a conversation's contact and
 * assignee) come in the same statement and prime their own loaders.
 */
export interface Loaders {
  contact(info?: GraphQLResolveInfo): ById<Contact>;
  agent(info?: GraphQLResolveInfo): ById<Agent>;
  conversation(info?: GraphQLResolveInfo): ById<Conversation>;
  activity(info?: GraphQLResolveInfo): ById<ConversationActivity>;
  message(info?: GraphQLResolveInfo): ById<Message>;
  /** Fills the by-id loaders with records a list read along with its rows (`joinsFor`). */
  prime(joined: readonly Joined[]): void;
  /** Drops every record loaded so far: after a write, the next read goes to the database. */
  forget(): void;
  /**
   * Batches nested lists (a page of messages under each conversation, …) that share arguments;
   * the records `load` read along with the pages prime the by-id loaders.
   */
  pageOf<Parent extends string, T>(
    list: string,
    args: unknown,
    load: (parentIds: readonly Parent[]) => Promise<{ pages: T[]; joined: readonly Joined[] }>,
  ): DataLoader<Parent, T>;
}

/**
 * Ids the by-id loaders of a table read along with the first ids they are asked for: a live feed's
 * batch of events is executed one event at a time, and each would otherwise wait for its own query.
 */
type Prefetch = { [table: string]: readonly string[] };

export function createLoaders(prisma: PrismaClient, workspaceId: string, prefetch: Prefetch = {}): Loaders {
  const loaders = new Map<string, DataLoader<string, unknown>>();
  const shared = <T>(key: string, batch: DataLoader.BatchLoadFn<string, T>) => {
    let loader = loaders.get(key);
    if (!loader) {
      loader = new DataLoader<string, T>(batch);
      loaders.set(key, loader);
    }
    return loader as DataLoader<string, T>;
  };
  const prefetched = new Set<string>();
  // Raw SQL through the driver adapter rather than findMany: Prisma Client compiles a plan per call.
  const loaderOf = <T extends { id: string }>(table: string, columns: readonly string[], joins: readonly Join[] = []): ById<T> => {
    const key = `${table}:${columns.join(",")}${joins.map((j) => `+${j.field}:${j.columns.join(",")}`).join("")}`;
    const loader: ById<T> = shared<T | null>(key, async (ids) => {
      const ahead = prefetched.has(key) ? [] : (prefetch[table] ?? []);
      prefetched.add(key);
      const wanted = [...new Set([...ids, ...ahead])];
      const join = joinSql(joins);
      // Primary keys, whatever the ids: prepared (db/prepared-statements.ts).
      const rows = await readRows<T>(
        prisma,
        Prisma.sql`${Prisma.raw(PREPARED)}SELECT ${columnList(columns)}${join.columns} FROM ${Prisma.raw(`"${table}"`)} t${join.from}
        WHERE t."id" = ANY(${textArray(wanted)}) AND t."workspaceId" = ${workspaceId}`,
      );
      prime(joinedRecords(rows, joins));
      const found = new Map(rows.map((row) => [row.id, row]));
      for (const id of wanted.slice(ids.length)) loader.prime(id, found.get(id) ?? null);
      return ids.map((id) => found.get(id) ?? null);
    });
    return loader;
  };
  const prime = (joined: readonly Joined[]) => {
    for (const { join, records } of joined) {
      const loader = loaderOf(join.table, join.columns);
      for (const [id, record] of records) loader.prime(id, record);
    }
  };
  // Every row of a list asks for its field's loader: look it up by the field's nodes, so the
  // column set and the loader's key are worked out once per field, not once per row.
  const byId = <T extends { id: string }>(model: Model) => {
    const byField = new WeakMap<GraphQLResolveInfo["fieldNodes"], ById<T>>();
    return (info?: GraphQLResolveInfo): ById<T> => {
      if (!info) return loaderOf<T>(model, allColumns(model));
      let loader = byField.get(info.fieldNodes);
      if (!loader) byField.set(info.fieldNodes, (loader = loaderOf<T>(model, columnsFor(model, info), joinsFor(model, info))));
      return loader;
    };
  };
  return {
    contact: byId<Contact>("Contact"),
    agent: byId<Agent>("Agent"),
    conversation: byId<Conversation>("Conversation"),
    activity: byId<ConversationActivity>("ConversationActivity"),
    message: byId<Message>("Message"),
    prime,
    forget: () => loaders.forEach((loader) => loader.clearAll()),
    pageOf<Parent extends string, T>(list: string, args: unknown, load: (parentIds: readonly Parent[]) => Promise<{ pages: T[]; joined: readonly Joined[] }>) {
      return shared<T>(`${list}:${JSON.stringify(args)}`, async (ids) => {
        const { pages, joined } = await load(ids as readonly Parent[]);
        prime(joined);
        return pages;
      }) as unknown as DataLoader<Parent, T>;
    },
  };
}
