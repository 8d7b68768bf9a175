import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/**
 * JSON logs on stdout (or `destination`, which tests use to read them). Secrets are redacted
 * wherever they could appear in a logged object.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions<never> = {
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
        'headers["x-api-key"]',
        'req.headers["x-api-key"]',
        "secret",
        "*.secret",
      ],
      censor: "[redacted]",
    },
  };
  return pino(options, destination ?? pino.destination(1));
}
