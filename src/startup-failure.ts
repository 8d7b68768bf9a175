import { ConfigError } from "./config.js";
import { DatabaseInUse, redactedUrl } from "./db/client.js";

/** What could not be reached or used at start, as the error the driver or the socket raised. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH"]);
// PostgreSQL's codes for a database that does not exist, a refused login, a missing role.
const POSTGRES_REFUSED = new Set(["3D000", "28P01", "28000"]);

// PostgreSQL's code for a privilege the role lacks (creating a table, an index, an extension).
const INSUFFICIENT_PRIVILEGE = "42501";
const LISTEN_FAILURES = new Set(["EADDRINUSE", "EACCES", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"]);
// A table that is not there: Prisma's code over pg, PostgreSQL's through PGlite's adapter.
const NO_SUCH_TABLE = new Set(["P2021", "42P01"]);

/**
 * Why the gateway or a command could not start, said for people, with a sysexits code: a bad
 * setting (78), a database folder in use (75), a port or database that cannot be had (69), a
 * database role that may not create what the migrations need (77), a database a command found
 * with no tables (66). Null for anything else, which
 * is a bug and keeps its stack trace.
 */
export function startupFailure(error: unknown, where: { databaseUrl?: string; host?: string; port?: number; portSetting?: "PORT" | "METRICS_PORT" } = {}) {
  if (error instanceof ConfigError) return { message: error.message, exitCode: 78 };
  if (error instanceof DatabaseInUse) return { message: error.message, exitCode: 75 };
  const code = (error as { code?: unknown })?.code;
  // A failed migration, and PGlite's adapter, carry the driver's error as the cause.
  const codes = [code, (error as { cause?: { code?: unknown } })?.cause?.code];
  const message = error instanceof Error ? error.message : String(error);
  if (where.databaseUrl && codes.includes(INSUFFICIENT_PRIVILEGE)) {
    const role = decodeURIComponent(new URL(where.databaseUrl).username);
    return {
      message:
        `${message}. The role ${role ? `${role} ` : ""}in DATABASE_URL may not create what the migrations need (tables, indexes, ` +
        "functions and the pg_trgm and unaccent extensions): make it the database's owner, or grant it CREATE on the database and on its schema.",
      exitCode: 77,
    };
  }
  if (codes.some((c) => NO_SUCH_TABLE.has(String(c)))) {
    return {
      message:
        "This database has no tables yet. Start the gateway once (npm start), or run npm run db:migrate " +
        "and then npm run workspace (or npm run db:seed) for a first admin.",
      exitCode: 66,
    };
  }
  // Listening: a taken or forbidden port is its setting's fault, an address that is not this
  // machine's (or no address at all) HOST's.
  if (where.portSetting && typeof code === "string" && LISTEN_FAILURES.has(code)) {
    const setting = code === "EADDRINUSE" || code === "EACCES" ? `${where.portSetting} (and HOST)` : "HOST";
    return { message: `Cannot listen on ${where.host}:${where.port} (${code}): set ${setting} to a free address of this machine.`, exitCode: 69 };
  }
  if (where.databaseUrl && typeof code === "string" && (UNREACHABLE.has(code) || POSTGRES_REFUSED.has(code))) {
    return { message: `Cannot open the PostgreSQL database at ${redactedUrl(where.databaseUrl)}: ${message || code}. Check DATABASE_URL.`, exitCode: 69 };
  }
  return null;
}

/** Prints why the start failed and exits with its code; rethrows what is not a known start failure. */
export function exitOnStartupFailure(error: unknown, where?: Parameters<typeof startupFailure>[1]): never {
  const failure = startupFailure(error, where);
  if (!failure) throw error;
  console.error(failure.message);
  process.exit(failure.exitCode);
}
