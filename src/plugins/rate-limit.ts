import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Viewer } from "../auth/viewer.js";
import type { Logger } from "../logger.js";

export interface RateLimitOptions {
  /** Operations a caller may run per window; 0 turns the limit off. */
  max: number;
  /** Whole seconds: Redis keeps a window's count with a TTL in seconds. */
  windowMs: number;
  /** With Redis (the gateway's command connection), every instance counts against the same limit per caller. */
  redis: Redis | null;
  /** REDIS_PREFIX: the counts' keys start with it. */
  prefix: string;
  log: Logger;
}

/** The caller a limit applies to: the API key or the token's agent, else the client's address. */
function callerOf(context: { viewer?: Viewer; req?: IncomingMessage }): string {
  if (context.viewer?.apiKeyId) return `key:${context.viewer.apiKeyId}`;
  if (context.viewer?.agentId) return `agent:${context.viewer.agentId}`;
  return `ip:${context.req?.socket.remoteAddress ?? "unknown"}`;
}

/**
 * Per-caller rate limiting (rate-limiter-flexible): each caller may run `max` operations per
 * window, counted from its first operation in the window. Each operation (query, mutation,
 * subscription start, each entry of a batch) counts one. Beyond that: RATE_LIMITED, HTTP 429 with
 * Retry-After. With Redis the count is shared by every instance; while Redis is unreachable each
 * instance goes on limiting on its own (the insurance limiter), and requests are not refused for it.
 *
 * Not @envelop/rate-limiter: it counts field resolutions of fields configured one by one, so a
 * request with five root fields would cost five and a refused request would still return partial
 * data.
 */
export function useRateLimit({ max, windowMs, redis, prefix, log }: RateLimitOptions): Plugin {
  if (max === 0) return {};
  const window = { points: max, duration: windowMs / 1000 };
  const local = new RateLimiterMemory(window);
  // Commands fail at once while Redis is down, so the insurance limiter answers without delay.
  let redisDown = false;
  redis?.on("error", (err) => {
    if (!redisDown) log.warn({ err }, "rate limit: Redis unreachable; each instance limits on its own until it is back");
    redisDown = true;
  });
  redis?.on("ready", () => (redisDown = false));
  const limiter = redis
    ? new RateLimiterRedis({
        ...window,
        storeClient: redis,
        keyPrefix: `${prefix}:rate-limit`,
        insuranceLimiter: local,
        // A caller over the limit is refused from memory for the rest of the window, without asking Redis.
        inMemoryBlockOnConsumed: max + 1,
      })
    : local;

  const limit = async ({ args, setResultAndStopExecution }: { args: { contextValue: unknown }; setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void }) => {
    try {
      await limiter.consume(callerOf(args.contextValue as Parameters<typeof callerOf>[0]));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      setResultAndStopExecution({
        errors: [
          new GraphQLError(`Too many requests: at most ${max} operations per ${windowMs / 1000} s; retry in ${retryAfter} s.`, {
            // retryAfter too, for clients of SSE and graphql-ws streams, which never see the header.
            extensions: { code: "RATE_LIMITED", retryAfter, http: { status: 429, headers: { "Retry-After": String(retryAfter) } } },
          }),
        ],
      });
    }
  };
  return { onExecute: limit, onSubscribe: limit };
}
