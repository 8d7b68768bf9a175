import { z } from "zod";
import { DEFAULT_STATEMENT_CACHE_SIZE } from "./db/prepared-statements.js";

/**
 * All configuration comes from the environment and is read here, once. A bad value stops the
 * start with a message that names the variable.
 */
const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL");

const onOff = z.enum(["on", "off"]);
const count = (min: number) => z.coerce.number().int().min(min);

const configSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  // Unset means: every interface in production, loopback elsewhere (a development gateway hands
  // out an admin token on its GraphiQL page).
  HOST: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  // PostgreSQL only: the longest one statement of a request may run before the server stops it; 0: no limit.
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(2_147_483_647).default(10_000),
  // PostgreSQL only: how many statements are kept prepared, the ones used last (db/prepared-statements.ts); 0: none.
  DATABASE_STATEMENT_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_STATEMENT_CACHE_SIZE),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").optional(),
  // Starts every Redis key and channel: deployments that share one Redis keep apart by it.
  REDIS_PREFIX: z.string().regex(/^[\w.-]{1,64}$/, "must be 1 to 64 letters, digits and _.-").default("inbox-gateway"),
  // Browser origins (scheme://host[:port], comma-separated) whose pages may call the API; unset: none.
  CORS_ORIGINS: z
    .string()
    .transform((list) => list.split(",").map((origin) => origin.trim()).filter(Boolean))
    .refine((origins) => origins.every(isOrigin), "must be origins like https://dashboard.example.com, comma-separated")
    .default([]),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SEED_DEMO_DATA: z.enum(["auto", "always", "never"]).default("auto"),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: "must be an http(s):// URL" }).optional(),
  JWT_JWKS_FILE: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  // How long SIGTERM keeps serving, with /ready at 503, before it stops accepting connections:
  // time for a load balancer to take the instance out of rotation. Part of SHUTDOWN_TIMEOUT_MS.
  SHUTDOWN_DRAIN_MS: count(0).optional(),
  GRAPHIQL: z.enum(["auto", "on", "off"]).default("auto"),
  METRICS: onOff.default("on"),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PERSISTED_OPERATIONS: z.string().min(1).optional(),
  // Unset means: on in development (so GraphiQL works), off everywhere else.
  PERSISTED_OPERATIONS_ADHOC: onOff.optional(),
  APQ: onOff.default("on"),
  // Hostile-input limits (README "Limits" says what each one does).
  MAX_REQUEST_BODY_BYTES: count(1024).default(100 * 1024),
  GRAPHQL_MAX_DEPTH: count(1).default(10),
  GRAPHQL_MAX_ALIASES: count(0).default(15),
  GRAPHQL_MAX_TOKENS: count(10).default(2000),
  GRAPHQL_MAX_DIRECTIVES: count(0).default(10),
  GRAPHQL_MAX_COST: count(1).default(100_000),
  GRAPHQL_BATCH_LIMIT: count(0).max(100).default(0),
  GRAPHQL_INTROSPECTION: onOff.optional(),
  RATE_LIMIT_MAX: count(0).optional(),
  // Whole seconds: with Redis, a window is a key's TTL, which Redis keeps in seconds.
  RATE_LIMIT_WINDOW_MS: count(1000)
    .refine((ms) => ms % 1000 === 0, "must be a whole number of seconds (a multiple of 1000)")
    .default(60_000),
  // How long an agent's standing (active, role) is trusted before it is read again; 0: every request.
  AGENT_RECHECK_MS: count(0).default(5_000),
  // Undelivered events a live subscriber may have queued before the oldest are dropped: a bulk
  // update of 100 conversations writes up to 400 activities at once.
  SUBSCRIPTION_QUEUE_SIZE: count(1).default(1_000),
  // Subscriptions one agent or API key may hold open at once on one gateway; 0: no limit.
  MAX_SUBSCRIPTIONS_PER_CALLER: count(0).default(200),
  // How often the tallies behind conversationCounts and labels are folded (src/domain/conversation-tallies.ts); 0: never.
  TALLY_COMPACTION_INTERVAL_MS: count(0).default(5_000),
});

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}

type ParsedConfig = z.infer<typeof configSchema>;

export type Config = Omit<ParsedConfig, "HOST" | "GRAPHQL_INTROSPECTION" | "RATE_LIMIT_MAX" | "SHUTDOWN_DRAIN_MS"> & {
  HOST: string;
  isProduction: boolean;
  /** GraphiQL on GET /graphql: GRAPHIQL=on/off, or `auto` (on outside production). */
  graphiqlEnabled: boolean;
  /** Whether ad-hoc documents still run in allow-list mode (PERSISTED_OPERATIONS set). */
  allowAdhocOperations: boolean;
  /** Whether introspection queries are answered: by default outside production only. */
  GRAPHQL_INTROSPECTION: boolean;
  /** Operations per caller per RATE_LIMIT_WINDOW_MS; 0 turns rate limiting off (the default outside production). */
  RATE_LIMIT_MAX: number;
  /** The pre-stop delay of a shutdown; 0 (the default outside production) stops accepting at once. */
  SHUTDOWN_DRAIN_MS: number;
};

/** Operations per caller per window when NODE_ENV=production and RATE_LIMIT_MAX is unset. */
const PRODUCTION_RATE_LIMIT = 600;

/** SHUTDOWN_DRAIN_MS when NODE_ENV=production and it is unset, at most half of SHUTDOWN_TIMEOUT_MS. */
const PRODUCTION_DRAIN_MS = 5_000;

const SECRET_SETTINGS = new Set(["JWT_SECRET", "DATABASE_URL", "REDIS_URL"]);

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings are treated as unset, as shells and .env files commonly produce them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = configSchema
    .refine((c) => c.NODE_ENV !== "production" || c.JWT_SECRET || c.JWT_JWKS_URL || c.JWT_JWKS_FILE, {
      path: ["JWT_SECRET"],
      message:
        "no token key is configured: set JWT_SECRET (HS256), JWT_JWKS_URL or JWT_JWKS_FILE (RS256/ES256) when NODE_ENV=production (the development secret is for development only)",
    })
    // One kind of key only: accepting HS256 next to public keys invites algorithm-confusion tokens.
    .refine((c) => !(c.JWT_SECRET && (c.JWT_JWKS_URL || c.JWT_JWKS_FILE)) && !(c.JWT_JWKS_URL && c.JWT_JWKS_FILE), {
      path: ["JWT_SECRET"],
      message: "set only one of JWT_SECRET, JWT_JWKS_URL and JWT_JWKS_FILE",
    })
    // Keys fetched over plain HTTP could be swapped on the way; a loopback sidecar is not on the way.
    .refine((c) => c.NODE_ENV !== "production" || !c.JWT_JWKS_URL || /^https:|^http:\/\/(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(c.JWT_JWKS_URL), {
      path: ["JWT_JWKS_URL"],
      message: "must be an https:// URL when NODE_ENV=production (http:// only to localhost)",
    })
    .refine((c) => !c.METRICS_PORT || c.METRICS_PORT !== c.PORT, {
      path: ["METRICS_PORT"],
      message: "must differ from PORT (metrics are served on a port of their own)",
    })
    .refine((c) => c.NODE_ENV !== "production" || c.PERSISTED_OPERATIONS_ADHOC !== "on", {
      path: ["PERSISTED_OPERATIONS_ADHOC"],
      message: "cannot be on when NODE_ENV=production (it would defeat the allow-list)",
    })
    // The timeout runs from the signal: a delay as long would leave no time to finish requests.
    .refine((c) => !c.SHUTDOWN_DRAIN_MS || c.SHUTDOWN_DRAIN_MS < c.SHUTDOWN_TIMEOUT_MS, {
      path: ["SHUTDOWN_DRAIN_MS"],
      message: "must be less than SHUTDOWN_TIMEOUT_MS, which counts from the signal",
    })
    .safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = issue.path.join(".");
      // The value as given helps with a typo; secrets (and URLs, which may hold a password) stay out.
      const given = name in present && !SECRET_SETTINGS.has(name) ? ` (got ${JSON.stringify(present[name])})` : "";
      return `  ${name}: ${issue.message}${given}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const isProduction = parsed.data.NODE_ENV === "production";
  const graphiqlEnabled = parsed.data.GRAPHIQL === "auto" ? !isProduction : parsed.data.GRAPHIQL === "on";
  const adhoc = parsed.data.PERSISTED_OPERATIONS_ADHOC ?? (parsed.data.NODE_ENV === "development" ? "on" : "off");
  return {
    ...parsed.data,
    HOST: parsed.data.HOST ?? (isProduction ? "0.0.0.0" : "127.0.0.1"),
    isProduction,
    graphiqlEnabled,
    allowAdhocOperations: adhoc === "on",
    GRAPHQL_INTROSPECTION: (parsed.data.GRAPHQL_INTROSPECTION ?? (isProduction ? "off" : "on")) === "on",
    RATE_LIMIT_MAX: parsed.data.RATE_LIMIT_MAX ?? (isProduction ? PRODUCTION_RATE_LIMIT : 0),
    SHUTDOWN_DRAIN_MS:
      parsed.data.SHUTDOWN_DRAIN_MS ?? (isProduction ? Math.min(PRODUCTION_DRAIN_MS, Math.floor(parsed.data.SHUTDOWN_TIMEOUT_MS / 2)) : 0),
  };
}
