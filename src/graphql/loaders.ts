import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import { Prisma, type Agent, type Contact, type Conversation, type ConversationActivity, type PrismaClient } from "../generated/prisma/client.js";
import { type Joined, columnList, textArray } from "../domain/paging.js";
import { allColumns, columnsFor, type Model } from "./selection.js";

type ById<T> = DataLoader<string, T | null>;

/**
 * Per-request batching: every record a request resolves by id goes through one of these, so a
 * page of 100 conversations costs one query for their contacts, not 100. Loaders only ever see
 * the caller's workspace: a record of another workspace loads as null, exactly like a missing one.
 *
 * Given the resolver's `info`, a loader reads only the columns that field's selection needs (one
 * loader per column set, so equal selections still share one query); the record then holds just
 * those columns, which is all the fields below it read. Without `info` it reads every column.
 */
export interface Loaders {
  contact(info?: GraphQLResolveInfo): ById<Contact>;
  agent(info?: GraphQLResolveInfo): ById<Agent>;
  conversation(info?: GraphQLResolveInfo): ById<Conversation>;
  activity(info?: GraphQLResolveInfo): ById<ConversationActivity>;
  /** Fills the by-id loaders with records a list read along with its rows (`joinsFor`). */
  prime(joined: readonly Joined[]): void;
  /** Batches nested lists (a page of messages under each conversation, …) that share arguments. */
  pageOf<Parent extends string, T>(
    list: string,
    args: unknown,
    load: (parentIds: readonly Parent[]) => Promise<T[]>,
  ): DataLoader<Parent, T>;
}

export function createLoaders(prisma: PrismaClient, workspaceId: string): Loaders {
  const loaders = new Map<string, DataLoader<string, unknown>>();
  const shared = <T>(key: string, batch: DataLoader.BatchLoadFn<string, T>) => {
    let loader = loaders.get(key);
    if (!loader) {
      loader = new DataLoader<string, T>(batch);
      loaders.set(key, loader);
    }
    return loader as DataLoader<string, T>;
  };
  // Raw SQL rather than findMany: Prisma's query compiler costs more CPU than the query itself.
  const loaderOf = <T extends { id: string }>(table: string, columns: readonly string[]): ById<T> =>
    shared<T | null>(`${table}:${columns.join(",")}`, async (ids) => {
      const rows = await prisma.$queryRaw<T[]>`SELECT ${columnList(columns)} FROM ${Prisma.raw(`"${table}"`)} t
        WHERE t."id" = ANY(${textArray(ids)}) AND t."workspaceId" = ${workspaceId}`;
      const found = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => found.get(id) ?? null);
    });
  const byId =
    <T extends { id: string }>(model: Model) =>
    (info?: GraphQLResolveInfo): ById<T> =>
      loaderOf<T>(model, info ? columnsFor(model, info) : allColumns(model));
  return {
    contact: byId<Contact>("Contact"),
    agent: byId<Agent>("Agent"),
    conversation: byId<Conversation>("Conversation"),
    activity: byId<ConversationActivity>("ConversationActivity"),
    prime(joined) {
      for (const { join, records } of joined) {
        const loader = loaderOf(join.table, join.columns);
        for (const [id, record] of records) loader.prime(id, record);
      }
    },
    pageOf<Parent extends string, T>(list: string, args: unknown, load: (parentIds: readonly Parent[]) => Promise<T[]>) {
      return shared<T>(`${list}:${JSON.stringify(args)}`, (ids) => load(ids as readonly Parent[])) as unknown as DataLoader<Parent, T>;
    },
  };
}
