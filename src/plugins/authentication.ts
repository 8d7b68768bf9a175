import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Authenticator } from "../auth/authenticate.js";
import { remoteAddress, type RateLimit } from "./rate-limit.js";

/**
 * Refuses an HTTP request (plain or SSE) without valid credentials before its document is even
 * parsed, so an unauthenticated caller learns nothing about the schema; the answer is a 401. An
 * address whose credentials failed too often is refused (429) before they are looked up again.
 * GraphiQL's page, /health and /ready are answered earlier (onRequest) and need no credentials.
 * WebSocket operations have no request to parse: the context factory authenticates them from
 * their connectionParams.
 */
export function useAuthentication(auth: Authenticator, limit: RateLimit): Plugin<object, { req?: IncomingMessage }> {
  return {
    async onRequestParse({ request, serverContext }) {
      await limit.authenticate(remoteAddress(serverContext.req), async () => {
        try {
          await auth.viewerOf({ request });
        } catch (error) {
          if (!(error instanceof GraphQLError)) throw error;
          // Yoga takes the HTTP status from extensions.http and strips it from the response.
          throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 401 } } });
        }
      });
    },
  };
}
