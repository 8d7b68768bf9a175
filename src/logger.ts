import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout. Secrets are redacted wherever they could appear in a logged object. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "inbox-gateway" },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        "headers.authorization",
        "token",
        "apiKey",
        "*.token",
        "*.apiKey",
        "variables.input.body",
        "*.body",
      ],
      censor: "[redacted]",
    },
  });
}
