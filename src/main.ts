import { createServer } from "node:net";
import { type Config, loadConfig } from "./config.js";
import { createGateway } from "./gateway.js";
import { createLogger } from "./logger.js";
import { exitOnStartupFailure } from "./startup-failure.js";

// Reads config, starts the gateway and stops it cleanly on SIGTERM/SIGINT. Everything else lives
// in createGateway, which tests use directly. A start that fails for a known reason (a bad
// setting, a port or database that cannot be had) says so and exits with its code, not a stack trace.
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  exitOnStartupFailure(error);
}

// Before the database: a taken port would otherwise be found only after migrating and seeding,
// half a minute later on a first start. (Another process may still take it meanwhile; listen
// below says so then.)
for (const [setting, port] of [["PORT", config.PORT], ["METRICS_PORT", config.METRICS_PORT]] as const) {
  if (port) await canListen(config.HOST, port).catch((error: unknown) => exitOnStartupFailure(error, { host: config.HOST, port, portSetting: setting }));
}

const log = createLogger(config.LOG_LEVEL);
const gateway = await createGateway(config, { log }).catch((error: unknown) => exitOnStartupFailure(error, { databaseUrl: config.DATABASE_URL }));
const url = await gateway.listen().catch(async (error: unknown) => {
  await gateway.close();
  return exitOnStartupFailure(error, { host: config.HOST, port: config.PORT, portSetting: "PORT" });
});

const graphiql = config.graphiqlEnabled ? url.toString() : null;
log.info({ graphql: url.toString(), graphiql, database: gateway.db.kind, location: gateway.db.location }, "gateway ready");
if (gateway.bus.status() === "connecting") log.warn("Redis has not answered yet: /ready answers 503 (out of rotation) until it does");
const lines = [`  GraphQL:   ${url}`, ...(graphiql ? [`  GraphiQL:  ${graphiql}`] : []), `  Database:  ${gateway.db.kind} (${gateway.db.location})`];
console.error(`\n${lines.join("\n")}\n`);
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

function canListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once("error", reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
