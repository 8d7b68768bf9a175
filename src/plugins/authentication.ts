import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Authenticator } from "../auth/authenticate.js";
import { logUnexpected } from "../graphql/errors.js";
import type { Logger } from "../logger.js";
import { remoteAddress, type RateLimit } from "./rate-limit.js";
import { requestLogger } from "./request-logging.js";

/**
 * Refuses an HTTP request (plain or SSE) without valid credentials before its document is even
 * parsed, so an unauthenticated caller learns nothing about the schema; the answer is a 401 (a 429
 * once its address has failed too often: rate-limit.ts).
 * GraphiQL's page, /health and /ready are answered earlier (onRequest) and need no credentials.
 * WebSocket operations have no request to parse: the context factory authenticates them from
 * their connectionParams.
 */
export function useAuthentication(auth: Authenticator, limit: RateLimit, log: Logger): Plugin<object, { req?: IncomingMessage }> {
  return {
    async onRequestParse({ request, serverContext }) {
      await limit.authenticate(remoteAddress(serverContext.req), async () => {
        try {
          await auth.viewerOf({ request });
        } catch (error) {
          if (!(error instanceof GraphQLError)) {
            // Ours (the database during the agent check, an unreachable JWKS): logged here with the
            // request's id, as the mask that answers INTERNAL_SERVER_ERROR is not told the request.
            logUnexpected(requestLogger(request, log), error);
            throw error;
          }
          // Yoga takes the HTTP status from extensions.http and strips it from the response.
          throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 401 } } });
        }
      });
    },
  };
}
