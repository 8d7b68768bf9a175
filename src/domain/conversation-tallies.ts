import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";

/**
 * Running totals that a trigger on Conversation keeps in the writer's own transaction (the
 * conversation_tallies migration): conversationCounts and totalCount read
 * ConversationTally, the `labels` query reads LabelTally. A write adds rows of deltas and never
 * updates one, so concurrent writers never wait on, or deadlock over, a shared counter row; the
 * figures are the sums of the rows per key. Folding keeps the rows few.
 */
const TALLIES = {
  ConversationTally: {
    keys: ["workspaceId", "status", "assignedToId", "priority", "channel", "hasUnread"],
    sums: ["conversations", "unreadMessages"],
    lock: 72_640_311_002,
  },
  LabelTally: { keys: ["workspaceId", "label"], sums: ["conversations"], lock: 72_640_311_003 },
} as const;

export type Tally = keyof typeof TALLIES;
export const TALLY_TABLES = Object.keys(TALLIES) as Tally[];

const quoted = (columns: readonly string[]) => Prisma.raw(columns.map((c) => `"${c}"`).join(", "));

/**
 * Folds the rows of every key of `tally` that got deltas after row `afterId` into one row per key
 * (dropping keys that sum to zero), in one statement: readers see the rows before or after it,
 * which sum to the same figures. Deltas a writer has not committed yet are not seen, so they stay
 * as they are: nothing is counted twice or lost. One pass per table runs at a time across all
 * instances (an advisory lock held for the statement; a pass that does not get it does nothing),
 * so two passes never lock the same rows in different orders. Returns the highest id it folded,
 * the mark for the next pass.
 */
export async function foldTally(db: PrismaClient, tally: Tally, afterId: bigint): Promise<bigint> {
  const { keys, sums, lock } = TALLIES[tally];
  const table = Prisma.raw(`"${tally}"`);
  // NULL-safe key equality the planner can hash: with IS NOT DISTINCT FROM it could only nest
  // loops, and folding the 400,000 or so deltas of `npm run bench:data` took 77 s instead of 2.
  const sameKey = Prisma.raw(keys.map((c) => `COALESCE(t."${c}"::text, '') = COALESCE(k."${c}"::text, '')`).join(" AND "));
  const totals = Prisma.raw(sums.map((c) => `sum("${c}")`).join(", "));
  const nonZero = Prisma.raw(sums.map((c) => `sum("${c}") <> 0`).join(" OR "));
  const [{ upTo }] = await db.$queryRaw<{ upTo: bigint | null }[]>`
    WITH touched AS (
      SELECT DISTINCT ${quoted(keys)} FROM ${table} WHERE "id" > ${afterId} AND (SELECT pg_try_advisory_xact_lock(${lock}))
    ), gone AS (
      DELETE FROM ${table} t USING touched k WHERE ${sameKey} RETURNING t.*
    ), folded AS (
      INSERT INTO ${table} (${quoted([...keys, ...sums])})
      SELECT ${quoted(keys)}, ${totals} FROM gone GROUP BY ${quoted(keys)} HAVING ${nonZero}
      RETURNING "id"
    )
    SELECT GREATEST((SELECT max("id") FROM gone), (SELECT max("id") FROM folded)) AS "upTo"`;
  return upTo ?? afterId;
}

/** How many passes between full ones (an hour at the default interval of 5 s), and between vacuums (a minute). */
const PASSES_PER_FULL_PASS = 720;
const PASSES_PER_VACUUM = 12;

/**
 * Keeps the tallies small while the gateway runs: every `intervalMs` it folds the keys that got
 * deltas since the last pass. A writer whose transaction was still open during a pass can leave
 * its delta below the new mark, so once an hour a pass starts from the beginning. Every fold
 * leaves dead rows behind, and neither PGlite nor a server with autovacuum off (as on the
 * machines this was measured on) clears them, so once a minute a pass vacuums the tallies:
 * 47,000 dead rows had made the workspace counts' statement 2 to 3 times slower. Instances may
 * run passes at the same time; one of them folds (see foldTally). A failed pass only logs: the
 * figures are right with or without folding, reads are just a little slower.
 */
export function foldTalliesPeriodically(db: PrismaClient, log: Logger, intervalMs: number): { stop(): Promise<void> } {
  if (intervalMs === 0) return { stop: async () => undefined };
  const marks = new Map<Tally, bigint>(TALLY_TABLES.map((tally) => [tally, 0n]));
  let passes = 0;
  let running: Promise<void> | null = null;
  const pass = async () => {
    const n = ++passes;
    for (const tally of TALLY_TABLES) {
      try {
        marks.set(tally, await foldTally(db, tally, n % PASSES_PER_FULL_PASS === 1 ? 0n : (marks.get(tally) ?? 0n)));
      } catch (error) {
        log.warn({ err: error, tally }, "could not fold tallies; the next pass will");
      }
    }
    if (n % PASSES_PER_VACUUM !== 0) return;
    try {
      await db.$executeRawUnsafe(`VACUUM (ANALYZE) ${TALLY_TABLES.map((tally) => `"${tally}"`).join(", ")}`);
    } catch (error) {
      log.warn({ err: error }, "could not vacuum the tallies; the next pass will");
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
