import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Authenticator } from "../auth/authenticate.js";
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

export interface RateLimit {
  /** Counts one operation of an authenticated caller; RATE_LIMITED when it is over its limit, else null. */
  operation(viewer: Viewer): Promise<GraphQLError | null>;
  /**
   * Runs `authenticate` for a client at `address`. An UNAUTHENTICATED failure counts against the
   * address, and once the address is over the limit its failures are RATE_LIMITED instead. Good
   * credentials are never refused for their address: behind a proxy or a NAT, many callers share
   * one, and one of them guessing keys must not lock the others out.
   */
  authenticate<T>(address: string, authenticate: () => Promise<T>): Promise<T>;
}

/** The client's address as the socket has it (behind a proxy, the proxy's). */
export const remoteAddress = (req: IncomingMessage | undefined) => req?.socket.remoteAddress ?? "unknown";

/**
 * Per-caller rate limiting (rate-limiter-flexible): each caller (API key or agent) may run `max`
 * operations per window, counted from its first operation in the window. Each operation (query,
 * mutation, subscription start, each entry of a batch) counts one, before its document is parsed,
 * so a caller over the limit costs no parsing or validation. Failed authentications count against
 * the client's address, with the same limit. Beyond it: RATE_LIMITED, HTTP 429 with Retry-After.
 * With Redis the count is shared by every instance; while Redis is unreachable each instance goes
 * on limiting on its own (the insurance limiter), and requests are not refused for it.
 *
 * Not @envelop/rate-limiter: it counts field resolutions of fields configured one by one, so a
 * request with five root fields would cost five and a refused request would still return partial
 * data.
 */
export function createRateLimit({ max, windowMs, redis, prefix, log }: RateLimitOptions): RateLimit {
  if (max === 0) return { operation: async () => null, authenticate: (_address, authenticate) => authenticate() };
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

  const refusal = (what: string, msBeforeNext: number) => {
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new GraphQLError(`Too many requests: at most ${max} ${what} per ${windowMs / 1000} s; retry in ${retryAfter} s.`, {
      // retryAfter too, for clients of SSE and graphql-ws streams, which never see the header.
      extensions: { code: "RATE_LIMITED", retryAfter, http: { status: 429, headers: { "Retry-After": String(retryAfter) } } },
    });
  };

  /** Counts one against `key`: the refusal once it is over the limit, else null. */
  const count = async (key: string, what: string): Promise<GraphQLError | null> => {
    try {
      await limiter.consume(key);
      return null;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return refusal(what, rejection.msBeforeNext);
    }
  };

  return {
    operation: (viewer) => count(viewer.apiKeyId ? `key:${viewer.apiKeyId}` : `agent:${viewer.agentId}`, "operations"),
    async authenticate(address, authenticate) {
      try {
        return await authenticate();
      } catch (error) {
        if (!(error instanceof GraphQLError) || error.extensions.code !== "UNAUTHENTICATED") throw error;
        throw (await count(`ip:${address}`, "failed authentications from one address")) ?? error;
      }
    },
  };
}

/**
 * Over HTTP and SSE: counts each operation as its parameters arrive, before its document is looked
 * up, parsed or validated. Authentication ran before (onRequestParse); its verdict is cached per
 * request. graphql-ws, which skips onParams, calls `operation` itself.
 */
export function useRateLimit(limit: RateLimit, auth: Authenticator): Plugin {
  return {
    async onParams({ request }) {
      const refused = await limit.operation(await auth.viewerOf({ request }));
      // Thrown, not set as the result: the other onParams hooks (persisted documents) would still run.
      if (refused) throw refused;
    },
  };
}
