import { z } from "zod";

/**
 * All configuration comes from the environment and is read here, once. A bad value stops the
 * start with a message that names the variable.
 */
const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL");

const onOff = z.enum(["on", "off"]);

const configSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SEED_DEMO_DATA: z.enum(["auto", "always", "never"]).default("auto"),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: "must be an http(s):// URL" }).optional(),
  JWT_JWKS_FILE: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  METRICS: onOff.default("on"),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PERSISTED_OPERATIONS: z.string().min(1).optional(),
  // Unset means: on in development (so GraphiQL works), off everywhere else.
  PERSISTED_OPERATIONS_ADHOC: onOff.optional(),
  APQ: onOff.default("on"),
});

export type Config = z.infer<typeof configSchema> & {
  isProduction: boolean;
  /** Whether ad-hoc documents still run in allow-list mode (PERSISTED_OPERATIONS set). */
  allowAdhocOperations: boolean;
};

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
    .refine((c) => c.NODE_ENV !== "production" || c.PERSISTED_OPERATIONS_ADHOC !== "on", {
      path: ["PERSISTED_OPERATIONS_ADHOC"],
      message: "cannot be on when NODE_ENV=production (it would defeat the allow-list)",
    })
    .safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const adhoc = parsed.data.PERSISTED_OPERATIONS_ADHOC ?? (parsed.data.NODE_ENV === "development" ? "on" : "off");
  return { ...parsed.data, isProduction: parsed.data.NODE_ENV === "production", allowAdhocOperations: adhoc === "on" };
}
