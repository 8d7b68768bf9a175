import type { Plugin } from "graphql-yoga";
import type { Authenticator } from "../auth/authenticate.js";

/**
 * Refuses an HTTP request (plain or SSE) without valid credentials before its document is even
 * parsed, so an unauthenticated caller learns nothing about the schema. GraphiQL's page, /health
 * and /ready are answered earlier (onRequest) and need no credentials. WebSocket operations have no
 * request to parse: the context factory authenticates them from their connectionParams.
 */
export function useAuthentication(auth: Authenticator): Plugin {
  return {
    async onRequestParse({ request }) {
      await auth.viewerOf({ request });
    },
  };
}
