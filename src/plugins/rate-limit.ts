import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Viewer } from "../graphql/context.js";

export interface RateLimitOptions {
  /** Operations a caller may run per window; 0 turns the limit off. */
  max: number;
  windowMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

// Forgetting callers whose bucket has refilled keeps memory bounded; 10,000 is far above the
// number of agents and integrations one instance serves at once.
const PRUNE_ABOVE = 10_000;

/** The caller a limit applies to: the API key or the token's agent, else the client's address. */
function callerOf(context: { viewer?: Viewer; req?: IncomingMessage }): string {
  if (context.viewer?.apiKeyId) return `key:${context.viewer.apiKeyId}`;
  if (context.viewer?.agentId) return `agent:${context.viewer.agentId}`;
  return `ip:${context.req?.socket.remoteAddress ?? "unknown"}`;
}

/**
 * Per-caller rate limiting as a token bucket: each caller may run `max` operations at once and
 * regains them evenly over `windowMs`. Each operation (query, mutation, subscription start, each
 * entry of a batch) takes one token. Beyond that: RATE_LIMITED, HTTP 429 with Retry-After.
 *
 * Not @envelop/rate-limiter: it counts field resolutions of fields configured one by one, so a
 * request with five root fields would cost five and a refused request would still return partial
 * data. The buckets live in this process: with several instances each one limits on its own.
 */
export function useRateLimit({ max, windowMs }: RateLimitOptions): Plugin {
  if (max === 0) return {};
  const buckets = new Map<string, Bucket>();
  const refillPerMs = max / windowMs;

  /** Takes a token; returns 0, or how many ms until one is available. */
  function take(caller: string, now: number): number {
    const bucket = buckets.get(caller) ?? { tokens: max, at: now };
    bucket.tokens = Math.min(max, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    if (buckets.size >= PRUNE_ABOVE && !buckets.has(caller)) prune(now);
    buckets.set(caller, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / refillPerMs);
  }

  function prune(now: number) {
    for (const [caller, bucket] of buckets) {
      if (bucket.tokens + (now - bucket.at) * refillPerMs >= max) buckets.delete(caller);
    }
  }

  const limit = ({ args, setResultAndStopExecution }: { args: { contextValue: unknown }; setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void }) => {
    const waitMs = take(callerOf(args.contextValue as Parameters<typeof callerOf>[0]), Date.now());
    if (waitMs === 0) return;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    setResultAndStopExecution({
      errors: [
        new GraphQLError(`Too many requests: at most ${max} operations per ${windowMs / 1000} s; retry in ${retryAfter} s.`, {
          extensions: { code: "RATE_LIMITED", http: { status: 429, headers: { "Retry-After": String(retryAfter) } } },
        }),
      ],
    });
  };
  return { onExecute: limit, onSubscribe: limit };
}
