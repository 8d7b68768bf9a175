import { randomUUID } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "../logger.js";

interface RequestLog {
  log: Logger;
  requestId: string;
  startedAt: number;
}

const requests = new WeakMap<Request, RequestLog>();

/** The request's own logger, carrying its request id. */
export function requestLogger(request: Request, fallback: Logger): Logger {
  return requests.get(request)?.log ?? fallback;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * One JSON line per HTTP request with its id, method, path, status and duration. A caller's
 * x-request-id is kept (when well-formed) so traces join up across services; it is echoed back.
 * Headers and bodies are never logged: they carry tokens and message text.
 */
export function useRequestLogging(log: Logger): Plugin {
  return {
    onRequest({ request }) {
      const given = request.headers.get("x-request-id");
      const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
      requests.set(request, { log: log.child({ requestId }), requestId, startedAt: performance.now() });
    },
    onResponse({ request, response }) {
      const entry = requests.get(request);
      if (!entry) return;
      response.headers.set("x-request-id", entry.requestId);
      entry.log.info(
        {
          method: request.method,
          path: new URL(request.url).pathname,
          status: response.status,
          durationMs: Math.round((performance.now() - entry.startedAt) * 10) / 10,
        },
        "request",
      );
    },
  };
}
