import { Prisma, type ConversationActivity, type Message, type PrismaClient } from "../generated/prisma/client.js";
import type { Join } from "./joins.js";
import { type PageArgs, countsByParent, NEWEST_FIRST, pageWindow, readPage, rowsByParent, toConnection } from "./paging.js";

type Timeline = { Message: Message; ConversationActivity: ConversationActivity };
const KIND = { Message: "message", ConversationActivity: "activity" } as const;

/**
 * One page of messages or activity for each of many conversations, in one statement, and the
 * joined records. Newest first: the (conversationId, createdAt DESC, id DESC) indexes serve both lists.
 */
export async function listTimelineOf<Table extends keyof Timeline>(
  db: PrismaClient,
  table: Table,
  workspaceId: string,
  conversationIds: readonly string[],
  args: PageArgs,
  /** The columns to read; all of them when absent. */
  columns?: readonly string[],
  joins: readonly Join[] = [],
) {
  const window = pageWindow(args, NEWEST_FIRST, KIND[table]);
  const where = Prisma.sql`t."workspaceId" = ${workspaceId}`;
  const partition = { column: "conversationId", ids: conversationIds };
  // Each conversation's page is a walk of its index from the cursor, whatever the values: prepared.
  const page = await readPage<Timeline[Table] & { parentId: string }>(db, { table, where, sort: NEWEST_FIRST, window, columns, joins, partition, prepared: true });
  const countOf = countsByParent(db, table, where, partition);
  const pages = rowsByParent<Timeline[Table]>(page.rows, conversationIds).map((own, i) => ({
    ...toConnection<Timeline[Table]>(own, window, NEWEST_FIRST),
    totalCount: () => countOf(conversationIds[i]),
  }));
  return { pages, joined: page.joined };
}
