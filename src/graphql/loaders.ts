import DataLoader from "dataloader";
import type { Agent, Contact, Conversation, ConversationActivity, PrismaClient } from "../generated/prisma/client.js";

type ById<T> = DataLoader<string, T | null>;

/**
 * Per-request batching: every record a request resolves by id goes through one of these, so a
 * page of 100 conversations costs one query for their contacts, not 100. Loaders only ever see
 * the caller's workspace: a record of another workspace loads as null, exactly like a missing one.
 */
export interface Loaders {
  contact: ById<Contact>;
  agent: ById<Agent>;
  conversation: ById<Conversation>;
  activity: ById<ConversationActivity>;
  /** Batches nested lists (a page of messages under each conversation, …) that share arguments. */
  pageOf<Parent extends string, T>(
    list: string,
    args: unknown,
    load: (parentIds: readonly Parent[]) => Promise<T[]>,
  ): DataLoader<Parent, T>;
}

function byId<T extends { id: string }>(find: (ids: string[]) => Promise<T[]>): ById<T> {
  return new DataLoader<string, T | null>(async (ids) => {
    const rows = await find([...ids]);
    const found = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

export function createLoaders(prisma: PrismaClient, workspaceId: string): Loaders {
  const pages = new Map<string, DataLoader<string, unknown>>();
  return {
    contact: byId((ids) => prisma.contact.findMany({ where: { id: { in: ids }, workspaceId } })),
    agent: byId((ids) => prisma.agent.findMany({ where: { id: { in: ids }, workspaceId } })),
    conversation: byId((ids) => prisma.conversation.findMany({ where: { id: { in: ids }, workspaceId } })),
    activity: byId((ids) => prisma.conversationActivity.findMany({ where: { id: { in: ids }, workspaceId } })),
    pageOf<Parent extends string, T>(list: string, args: unknown, load: (parentIds: readonly Parent[]) => Promise<T[]>) {
      const key = `${list}:${JSON.stringify(args)}`;
      let loader = pages.get(key);
      if (!loader) {
        loader = new DataLoader<string, unknown>((ids) => load(ids as readonly Parent[]));
        pages.set(key, loader);
      }
      return loader as unknown as DataLoader<Parent, T>;
    },
  };
}
