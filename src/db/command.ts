import { type Config, loadConfig } from "../config.js";
import { exitOnStartupFailure } from "../startup-failure.js";
import { type Database, DatabaseInUse, openDatabase } from "./client.js";

/**
 * The settings and database of a command-line tool (npm run token, db:migrate, workspace, …): a
 * bad setting, a database folder a gateway has open or an unreachable PostgreSQL ends the command
 * with its message and exit code, as for the gateway itself.
 */
export async function openForCommand(options: { whenInUse?: string } = {}): Promise<{ config: Config; db: Database }> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    exitOnStartupFailure(error);
  }
  const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 }).catch((error: unknown) =>
    exitOnStartupFailure(error instanceof DatabaseInUse && options.whenInUse ? new DatabaseInUse(error.folder, options.whenInUse) : error, {
      databaseUrl: config.DATABASE_URL,
    }),
  );
  return { config, db };
}

/** Ends the command after a failure of its work: a known cause (PostgreSQL first reached here) is said plainly. */
export async function failCommand(db: Database, config: Config, error: unknown): Promise<never> {
  await db.close();
  return exitOnStartupFailure(error, { databaseUrl: config.DATABASE_URL });
}
