import type { StatementRecord } from "../src/db/sql-observer.js";

/** A replayable request: the statements one gateway request issued, with their parameters. */
export type Replay = StatementRecord[];

/**
 * Runs a captured request's statements as the gateway issued them: the first alone, then the
 * rest together (the page, then what its DataLoaders batch). Both yardsticks replay through it.
 */
export async function replayRequest<R>([first, ...rest]: Replay, run: (statement: StatementRecord) => Promise<R>): Promise<R[]> {
  return [await run(first!), ...(await Promise.all(rest.map(run)))];
}
