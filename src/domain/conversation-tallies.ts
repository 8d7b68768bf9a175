import type { PrismaClient } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";

/**
 * Folds the tally rows of every key that got new deltas since row `afterId` into one row per key
 * (dropping keys that sum to zero), in one statement: readers see the rows before or after it,
 * which sum to the same figures. Deltas a writer has not committed yet are not seen, so they stay
 * as they are, and a concurrent pass on another instance deletes only what it saw: nothing is
 * counted twice or lost. Returns the highest id it folded, the mark for the next pass.
 *
 * The trigger that writes the deltas is in the conversation_tallies migration.
 */
export async function compactConversationTallies(db: PrismaClient, afterId: bigint): Promise<bigint> {
  const [{ upTo }] = await db.$queryRaw<{ upTo: bigint | null }[]>`
    WITH touched AS (
      SELECT DISTINCT "workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread"
      FROM "ConversationTally" WHERE "id" > ${afterId}
    ), gone AS (
      DELETE FROM "ConversationTally" t USING touched k
      WHERE t."workspaceId" = k."workspaceId" AND t."status" = k."status" AND t."channel" = k."channel"
        AND t."hasUnread" = k."hasUnread" AND t."assignedToId" IS NOT DISTINCT FROM k."assignedToId"
        AND t."priority" IS NOT DISTINCT FROM k."priority"
      RETURNING t.*
    ), folded AS (
      INSERT INTO "ConversationTally" ("workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread", "conversations", "unreadMessages")
      SELECT "workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread", sum("conversations"), sum("unreadMessages")
      FROM gone GROUP BY "workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread"
      HAVING sum("conversations") <> 0 OR sum("unreadMessages") <> 0
      RETURNING "id"
    )
    SELECT GREATEST((SELECT max("id") FROM gone), (SELECT max("id") FROM folded)) AS "upTo"`;
  return upTo ?? afterId;
}

/** How many passes between full ones (an hour at the default interval of 5 s). */
const PASSES_PER_FULL_PASS = 720;

/**
 * Keeps the tallies small while the gateway runs: every `intervalMs` it folds the keys that got
 * deltas since the last pass. A writer whose transaction was still open during a pass can leave
 * its delta below the new mark, so once an hour a pass starts from the beginning. Instances may
 * run passes at the same time (see compactConversationTallies). A failed pass only logs: the
 * figures are right with or without folding, reads are just a little slower.
 */
export function compactTalliesPeriodically(db: PrismaClient, log: Logger, intervalMs: number): { stop(): Promise<void> } {
  if (intervalMs === 0) return { stop: async () => undefined };
  let upTo = 0n;
  let passes = 0;
  let running: Promise<void> | null = null;
  const pass = async () => {
    try {
      upTo = await compactConversationTallies(db, passes++ % PASSES_PER_FULL_PASS === 0 ? 0n : upTo);
    } catch (error) {
      log.warn({ err: error }, "could not fold conversation tallies; the next pass will");
    }
  };
  const timer = setInterval(() => {
    running ??= pass().finally(() => {
      running = null;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
