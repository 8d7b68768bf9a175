import type { PrismaClient } from "../generated/prisma/client.js";
import type { Viewer } from "./viewer.js";
import type { AgentCheck } from "./agent-standing.js";
import { API_KEY_PREFIX, viewerForApiKey } from "./api-keys.js";
import { unauthenticated } from "./errors.js";
import { viewerFromClaims } from "./tokens.js";
import type { TokenVerifier } from "./verify.js";

/** What a caller presents: an Authorization header (`Bearer <JWT or API key>`) and/or an x-api-key header. */
export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
}

/**
 * Where credentials are: the HTTP headers of a request (HTTP and SSE), or the connectionParams of
 * a WebSocket connection (`{ Authorization: "Bearer …" }` or `{ "x-api-key": "igk_…" }`).
 */
function credentialsOf(source: { request?: Request; connectionParams?: unknown }): Credentials {
  const params = source.connectionParams;
  if (params && typeof params === "object") {
    const pick = (...names: string[]) => {
      for (const name of names) {
        const value = (params as Record<string, unknown>)[name];
        if (typeof value === "string") return value;
      }
      return null;
    };
    return { authorization: pick("Authorization", "authorization"), apiKey: pick("x-api-key", "X-Api-Key", "apiKey") };
  }
  const headers = source.request?.headers;
  return { authorization: headers?.get("authorization"), apiKey: headers?.get("x-api-key") };
}

export interface Authenticator {
  /**
   * The caller of a request or connection, verified; UNAUTHENTICATED otherwise. Each Request is
   * verified once. The one check every transport goes through.
   */
  viewerOf(source: { request?: Request; connectionParams?: unknown }): Promise<Viewer>;
}

export function createAuthenticator(prisma: PrismaClient, verifyToken: TokenVerifier, checkAgent: AgentCheck): Authenticator {
  const byRequest = new WeakMap<Request, Promise<Viewer>>();

  async function authenticate({ authorization, apiKey }: Credentials): Promise<Viewer> {
    if (apiKey) return viewerForApiKey(prisma, apiKey.trim());
    if (!authorization) throw unauthenticated("Send a token: Authorization: Bearer <token>, or an API key in x-api-key.");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthenticated("The Authorization header must be `Bearer <token>`.");
    const credential = match[1];
    if (credential.startsWith(API_KEY_PREFIX)) return viewerForApiKey(prisma, credential);
    return checkAgent(viewerFromClaims(await verifyToken(credential)));
  }

  return {
    viewerOf(source) {
      if (source.connectionParams !== undefined || !source.request) return authenticate(credentialsOf(source));
      const known = byRequest.get(source.request);
      if (known) return known;
      const viewer = authenticate(credentialsOf(source));
      byRequest.set(source.request, viewer);
      return viewer;
    },
  };
}
