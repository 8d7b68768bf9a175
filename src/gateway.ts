import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, Server as NetServer, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { createYoga, useReadinessCheck, type GraphiQLOptions } from "graphql-yoga";
import type { Registry } from "prom-client";
import { createAgentCheck } from "./auth/agent-standing.js";
import { createAuthenticator } from "./auth/authenticate.js";
import { developmentSecret, signAgentToken } from "./auth/tokens.js";
import { createTokenVerifier } from "./auth/verify.js";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import { migrate, pendingMigrations } from "./db/migrate.js";
import { DEMO_SIZE, seedDemoWorkspaceOnce } from "./db/seed.js";
import { foldTalliesPeriodically } from "./domain/conversation-tallies.js";
import { buildRequestContext, type RequestContext, type ServerContext } from "./graphql/context.js";
import { createMaskError, type ErrorPolicy, useContractErrorCodes, useUnexpectedErrorLog } from "./graphql/errors.js";
import { operationNames, shippedOperations } from "./graphql/operations.js";
import { schema } from "./graphql/schema.js";
import { createLogger, type Logger } from "./logger.js";
import { useAuthentication } from "./plugins/authentication.js";
import { useCompiledExecution } from "./plugins/compiled-execution.js";
import { offlineGraphiQL } from "./plugins/graphiql.js";
import { createMetrics, OperationNames } from "./plugins/metrics.js";
import { useOperationLimits } from "./plugins/operation-limits.js";
import { automaticPersistedQueries, loadManifest, persistedQueriesNotSupported, trustedDocuments, useAcceptedDocuments } from "./plugins/persisted-operations.js";
import { createRateLimit, useRateLimit } from "./plugins/rate-limit.js";
import { useRequestBodyLimit } from "./plugins/request-body-limit.js";
import { requestLogger, useRequestLogging } from "./plugins/request-logging.js";
import { useStrictInput } from "./plugins/strict-input.js";
import { useSubscriptionMediaTypeHint } from "./plugins/subscription-media-type.js";
import { createLiveFeeds, type LiveFeeds } from "./realtime/feeds.js";
import { createInProcessEventBus, createRedisEventBus, redisCommandClient, type EventBus } from "./realtime/pubsub.js";
import { serveGraphQLOverWebSocket } from "./realtime/websocket.js";

const INBOX_EXAMPLE = readFileSync(new URL("./graphql/operations/InboxPage.graphql", import.meta.url), "utf8");
const INBOX_EXAMPLE_VARIABLES = readFileSync(new URL("./graphql/operations/InboxPage.variables.json", import.meta.url), "utf8");

export interface Gateway {
  /** Sends a request through the whole gateway without a socket (used by tests), as from this machine (localhost). */
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
  db: Database;
  /** A token for the first admin of the demo workspace, outside production with an HS256 secret; null otherwise. */
  devToken: string | null;
  /** The HS256 secret tokens are signed with (JWT_SECRET or the development secret); null with a JWKS. */
  jwtSecret: string | null;
  /** The live feeds (subscriptions) of this instance. */
  feeds: LiveFeeds;
  bus: EventBus;
  /** This gateway's Prometheus registry; null with METRICS=off. */
  metrics: Registry | null;
  /** Where /metrics is served when METRICS_PORT moves it off the main port (set by listen). */
  metricsUrl: URL | null;
  listen(port?: number, host?: string): Promise<URL>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  log?: Logger;
  /** An already open database (tests share one across gateways). Closed by its owner, not here. */
  db?: Database;
}

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.LOG_LEVEL);
  // Before the database: a manifest or JWKS file that cannot be used stops the start with nothing touched.
  const manifest = config.PERSISTED_OPERATIONS ? await loadManifest(config.PERSISTED_OPERATIONS, schema) : null;
  const usesJwks = Boolean(config.JWT_JWKS_URL || config.JWT_JWKS_FILE);
  const jwtSecret = usesJwks ? null : (config.JWT_SECRET ?? (await developmentSecret(config.DATA_DIR)));
  const verifyToken = createTokenVerifier(config, jwtSecret ?? undefined);
  const db =
    options.db ??
    (await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolSize: config.DATABASE_POOL_SIZE,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
      statementCacheSize: config.DATABASE_STATEMENT_CACHE_SIZE,
    }));
  const ownsDb = !options.db;
  try {
    const { applied } = await migrate(db);
    if (applied.length) log.info({ applied }, "applied migrations");
    if (await shouldSeed(db, config)) {
      // Said before it starts: on a first start the seed is most of the wait (seconds on PGlite).
      const seeded = await seedDemoWorkspaceOnce(db.prisma, () => log.info({ conversations: DEMO_SIZE.conversations }, "seeding demo data"));
      if (seeded) log.info(seeded, "seeded demo data");
    }
  } catch (error) {
    if (ownsDb) await db.close();
    throw error;
  }

  const checkAgent = createAgentCheck(db.prisma, config.AGENT_RECHECK_MS);
  const auth = createAuthenticator(db.prisma, verifyToken, checkAgent);
  // Only with the secret the gateway made for itself: one an operator set signs real tokens, and
  // an ADMIN token for anyone who opens a page would be a way in.
  const devTokens = config.isProduction || config.JWT_SECRET || !jwtSecret ? null : await demoAdminTokens(db, jwtSecret, config);
  const devToken = devTokens?.() ?? null;
  // One connection for Redis commands (publishing events, rate limits, APQ); subscribing needs its own.
  const redis = config.REDIS_URL ? redisCommandClient(config.REDIS_URL) : null;
  const bus = redis ? createRedisEventBus(redis, log, config.REDIS_PREFIX) : createInProcessEventBus(log);
  const feeds = createLiveFeeds({ db, bus, log, checkAgent, queueSize: config.SUBSCRIPTION_QUEUE_SIZE, maxPerCaller: config.MAX_SUBSCRIPTIONS_PER_CALLER });
  const tallies = foldTalliesPeriodically(db.prisma, log, config.TALLY_COMPACTION_INTERVAL_MS);
  await bus.ready();
  const server: ServerContext = { db, log, feeds, events: bus };
  const graphiql = config.graphiqlEnabled ? await offlineGraphiQL() : null;
  // YogaGraphiQL fills the first tab's variables editor from `variables`, which Yoga's option type omits.
  const graphiqlOptions: GraphiQLOptions & { variables: string } = {
    title: "inbox-gateway",
    defaultQuery: INBOX_EXAMPLE,
    variables: INBOX_EXAMPLE_VARIABLES,
    // Yoga's GraphiQL would keep typed-in tokens in localStorage; a reload offers the dev token again.
    shouldPersistHeaders: false,
    // GraphiQL runs subscriptions as GET event streams, which CSRF prevention refuses without this header.
    additionalHeaders: { "graphql-yoga-csrf": "graphiql" },
  };
  const knownOperations = manifest?.operationNames ?? new Set(Object.values(shippedOperations()).flatMap(operationNames));
  const metrics =
    config.METRICS === "on"
      ? createMetrics({
          sql: db.sql,
          names: new OperationNames(knownOperations, manifest !== null),
          endpoint: config.METRICS_PORT === undefined ? "/metrics" : false,
          bus,
        })
      : null;
  if (manifest) log.info({ documents: manifest.documents.size, adhoc: config.allowAdhocOperations }, "trusted documents only");
  const documents = manifest
    ? trustedDocuments(manifest, { allowAdhoc: config.allowAdhocOperations })
    : config.APQ === "on"
      ? automaticPersistedQueries({ redis, log, prefix: config.REDIS_PREFIX })
      : persistedQueriesNotSupported();
  const rateLimit = createRateLimit({ max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS, redis, prefix: config.REDIS_PREFIX, log });

  const errorPolicy: ErrorPolicy = { hideSuggestions: !config.GRAPHQL_INTROSPECTION };
  const yoga = createYoga<Record<string, unknown>, RequestContext>({
    schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/health",
    logging: false,
    maskedErrors: { maskError: createMaskError(log, errorPolicy) },
    landingPage: false,
    // Yoga's default answers every origin, with credentials; only the listed ones may read responses.
    cors: config.CORS_ORIGINS.length
      ? { origin: config.CORS_ORIGINS, credentials: false, exposedHeaders: ["x-request-id", "retry-after"] }
      : false,
    // Each page gets a freshly signed development token: one signed at start would expire (12 h)
    // under a gateway left running.
    graphiql: graphiql
      ? (request: Request) => ({
          ...graphiqlOptions,
          headers: devTokens && onLoopback(request) ? JSON.stringify({ Authorization: `Bearer ${devTokens()}` }, null, 2) : undefined,
        })
      : false,
    renderGraphiQL: graphiql?.render,
    // Limited by useRequestBodyLimit instead, at a fraction of the cost.
    maxRequestBodySize: false,
    batching: config.GRAPHQL_BATCH_LIMIT > 0 ? { limit: config.GRAPHQL_BATCH_LIMIT } : false,
    // No field takes an upload, so multipart bodies are refused (415) rather than parsed.
    multipart: false,
    // The GraphQL-over-HTTP way to send a persisted document's hash.
    extraParamNames: ["documentId"],
    plugins: [
      ...(graphiql ? [graphiql.plugin] : []),
      useRequestLogging(log),
      useUnexpectedErrorLog(),
      useContractErrorCodes(errorPolicy),
      // After the contract codes: the error counter counts what clients see.
      ...(metrics?.plugins ?? []),
      // The first onParams hook (authentication has run in onRequestParse): a caller over its limit
      // is refused before its document is looked up, parsed or validated. Left out when off.
      ...(config.RATE_LIMIT_MAX > 0 ? [useRateLimit(rateLimit, auth)] : []),
      useStrictInput(),
      ...documents.plugins,
      useOperationLimits(config),
      useReadinessCheck({
        endpoint: "/ready",
        // Not ready before Redis first answers: a wrong REDIS_URL would otherwise split the live
        // feeds unnoticed. An outage later keeps it ready: this instance's own feeds still work.
        check: async () => {
          // From the start of a shutdown: balancers stop sending while in-flight requests finish.
          if (closing) return false;
          try {
            return bus.status() !== "connecting" && (await pendingMigrations(db)).length === 0;
          } catch (err) {
            // Yoga would send the error's message, the database's own words (names, states), to
            // anyone who probes: they go to the log, the probe gets a bare 503.
            log.warn({ err }, "not ready: the readiness check failed");
            return false;
          }
        },
      }),
      useAuthentication(auth, rateLimit, log),
      // A browser can send a "simple" GET or form POST cross-site without a preflight; those
      // must carry a header a page cannot set without CORS (application/json POSTs pass).
      // After authentication, so a caller without credentials hears that first.
      useCSRFPrevention({ requestHeaders: ["x-graphql-yoga-csrf", "graphql-yoga-csrf"] }),
      // Last before execution: only an operation that is about to run may share its APQ document.
      useAcceptedDocuments(documents),
      useCompiledExecution(log),
      useSubscriptionMediaTypeHint(),
      // Last, where Yoga puts its own limit: it wraps whichever request parser the others chose.
      useRequestBodyLimit(config.MAX_REQUEST_BODY_BYTES),
    ],
    // A request's logger carries its requestId, a WebSocket operation's its connectionId.
    context: async (initial: { request?: Request; connectionParams?: unknown; connectionLog?: Logger }) =>
      buildRequestContext(
        { ...server, log: initial.request ? requestLogger(initial.request, log) : (initial.connectionLog ?? log) },
        await auth.viewerOf(initial),
      ),
  });

  let closing = false;
  let httpServer: Drainable | null = null;
  let webSockets: { dispose(): Promise<void> } | null = null;
  let metricsServer: Drainable | null = null;
  const gateway: Gateway = {
    fetch: async (url, init) => yoga.fetch(new URL(url, "http://localhost"), init ?? {}),
    db,
    devToken,
    jwtSecret,
    feeds,
    bus,
    metrics: metrics?.registry ?? null,
    metricsUrl: null,
    async listen(port = config.PORT, host = config.HOST) {
      httpServer = drainable(createServer({ keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: KEEP_ALIVE_MS + 1_000 }, yoga));
      const url = await listenOn(httpServer.server, port, host, "/graphql");
      webSockets = serveGraphQLOverWebSocket(httpServer.server, yoga, log, {
        documents,
        rateLimit,
        maxMessageBytes: config.MAX_REQUEST_BODY_BYTES,
        errorPolicy,
        errorsSent: metrics?.countErrors,
      });
      if (metrics && config.METRICS_PORT !== undefined) {
        metricsServer = drainable(createServer(metricsHandler(metrics.registry, log)));
        gateway.metricsUrl = await listenOn(metricsServer.server, config.METRICS_PORT, host, "/metrics");
      }
      return url;
    },
    async close() {
      closing = true;
      const servers = [httpServer, metricsServer].filter((s): s is Drainable => s !== null);
      servers.forEach((s) => s.closeAfterEachResponse());
      // Still serving, /ready at 503, while a load balancer takes this instance out of rotation.
      if (httpServer?.server.listening && config.SHUTDOWN_DRAIN_MS) await delay(config.SHUTDOWN_DRAIN_MS);
      const closed = servers.map((s) => s.stopAccepting());
      await Promise.all(servers.map((s) => s.requestsAnswered()));
      // Live streams only now, after the requests (whose mutations publish to them). WebSocket
      // clients get 1001 (going away) and reconnect elsewhere. SSE streams are cut rather than
      // completed: clients take "complete" as the end of the feed, a dropped stream as a reason to
      // reconnect.
      for (const socket of httpServer?.eventStreams ?? []) socket.destroy();
      await webSockets?.dispose();
      await Promise.all(closed);
      await feeds.close();
      await bus.close();
      await tallies.stop();
      await yoga.dispose();
      // QUIT is answered after the PUBLISHes sent before it: the last mutations' events reach the
      // other instances. Without a connection there is nothing to wait for.
      await redis?.quit().catch(() => redis.disconnect());
      metrics?.close();
      if (ownsDb) await db.close();
    },
  };
  return gateway;
}

async function listenOn(server: Server, port: number, host: string, path: string): Promise<URL> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return new URL(`http://${shownHost === "0.0.0.0" ? "localhost" : shownHost}:${address.port}${path}`);
}

interface Drainable {
  server: Server;
  /** The sockets that carry an SSE response right now (they never finish by themselves). */
  eventStreams: Set<Socket>;
  /** Every response from now on, those in flight included, closes its connection after it. */
  closeAfterEachResponse(): void;
  /** Stops accepting connections; resolves once every connection has closed. */
  stopAccepting(): Promise<void>;
  /** Resolves once every request but the SSE streams is answered, then drops idle connections. */
  requestsAnswered(): Promise<void>;
}

/**
 * A server that stops without resetting a request already sent. http.Server#close drops idle
 * keep-alive connections at once, and a request a client had just sent on one was reset unread:
 * the client could not tell whether it ran. Here idle connections stay open until the requests in
 * flight are answered, and a request arriving on one meanwhile is served with `Connection: close`.
 */
function drainable(server: Server): Drainable {
  const inFlight = new Set<ServerResponse>();
  const eventStreams = new Set<Socket>();
  let closeConnections = false;
  // Before the handler, which may answer at once (/health): the header must precede the answer.
  server.prependListener("request", (request: IncomingMessage, response: ServerResponse) => {
    if (closeConnections) response.setHeader("connection", "close");
    if (request.headers.accept?.includes("text/event-stream")) {
      eventStreams.add(request.socket);
      response.once("close", () => eventStreams.delete(request.socket));
    } else {
      inFlight.add(response);
      response.once("close", () => inFlight.delete(response));
    }
  });
  return {
    server,
    eventStreams,
    closeAfterEachResponse() {
      closeConnections = true;
      for (const response of inFlight) if (!response.headersSent) response.setHeader("connection", "close");
    },
    // net.Server's close: http.Server's would drop the idle keep-alive connections now.
    stopAccepting: () => new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve())),
    async requestsAnswered() {
      // Requests may still arrive on open connections while these finish.
      while (inFlight.size) await Promise.all([...inFlight].map((response) => new Promise((resolve) => response.once("close", resolve))));
      // A request that arrives on one of these from now on can still be reset, as anywhere in HTTP/1.1.
      server.closeIdleConnections();
    },
  };
}

/**
 * How long an idle keep-alive connection stays open: longer than load balancers keep theirs (60 s
 * on AWS's), so the balancer, not the gateway, closes it. With Node's 5 s a balancer could send a
 * request on a connection the gateway was closing, and its client got a 502.
 */
const KEEP_ALIVE_MS = 65_000;

/** The metrics port serves GET /metrics and nothing else. */
function metricsHandler(registry: Registry, log: Logger) {
  return (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "GET" || new URL(request.url ?? "/", "http://metrics").pathname !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, "metrics could not be collected");
        response.writeHead(500).end();
      },
    );
  };
}

async function shouldSeed(db: Database, config: Config): Promise<boolean> {
  if (config.SEED_DEMO_DATA === "never") return false;
  // always: the demo workspace once (seedDemoWorkspaceOnce), even in production or next to other workspaces.
  if (config.SEED_DEMO_DATA === "always") return true;
  return !config.isProduction && (await db.prisma.workspace.count()) === 0;
}

/**
 * Whether a page was asked for by a loopback name. A website whose name an attacker points at
 * 127.0.0.1 (DNS rebinding) reaches a developer's gateway as same-origin, with its own name in Host:
 * its script must not read a token out of the page.
 */
function onLoopback(request: Request): boolean {
  const { hostname } = new URL(request.url);
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Signs a fresh token for the demo admin (the first active admin) each time it is called; null when there is none. */
async function demoAdminTokens(db: Database, secret: string, config: Config): Promise<(() => string) | null> {
  const admin = await db.prisma.agent.findFirst({ where: { role: "ADMIN", active: true }, orderBy: { createdAt: "asc" } });
  if (!admin) return null;
  const subject = { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role };
  return () => signAgentToken(secret, subject, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
}
