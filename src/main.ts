import { type Config, ConfigError, loadConfig } from "./config.js";
import { createGateway } from "./gateway.js";
import { createLogger } from "./logger.js";

// Reads config, starts the gateway and stops it cleanly on SIGTERM/SIGINT. Everything else lives
// in createGateway, which tests use directly.
/** A bad setting stops the start with its message and EX_CONFIG, not a stack trace. */
function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  exitOnConfigError(error);
}

const log = createLogger(config.LOG_LEVEL);
const gateway = await createGateway(config, { log }).catch(exitOnConfigError);
const url = await gateway.listen();

log.info({ graphiql: url.toString(), database: gateway.db.kind, location: gateway.db.location }, "gateway ready");
console.error(`\n  GraphiQL:  ${url}\n  Database:  ${gateway.db.kind} (${gateway.db.location})\n`);
if (gateway.devToken) {
  console.error(`  Development token for the demo admin (GraphiQL already sends it):\n  Authorization: Bearer ${gateway.devToken}\n`);
}

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  // A request that never finishes must not keep the database from closing cleanly forever.
  const timer = setTimeout(() => {
    log.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutdown timed out; exiting");
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await gateway.close();
    log.info("stopped");
    process.exit(0);
  } catch (error) {
    log.error({ err: error }, "shutdown failed");
    process.exit(1);
  }
}

process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
