import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createInlineSigningKeyProvider,
  createRemoteJwksSigningKeyProvider,
  type GetSigningKeyFunction,
} from "@graphql-yoga/plugin-jwt";
import jwt from "jsonwebtoken";
import type { Config } from "../config.js";
import { ConfigError } from "../config.js";
import { unauthenticated } from "./errors.js";

/** Checks a JWT's signature, algorithm, time window, issuer and audience; returns its claims. */
export type TokenVerifier = (token: string) => Promise<jwt.JwtPayload>;

type KeyConfig = Pick<Config, "JWT_SECRET" | "JWT_JWKS_URL" | "JWT_JWKS_FILE" | "JWT_ISSUER" | "JWT_AUDIENCE">;

/**
 * The one place tokens are checked, for HTTP, SSE and WebSocket alike. Keys come from JWT_SECRET
 * (HS256) or from a JWKS (RS256/ES256) at a URL or in a file; `developmentSecret` is used when
 * none of them is set. The key providers are @graphql-yoga/plugin-jwt's; its useJWT plugin is not
 * used: API keys travel in the same Authorization header, which it takes for a JWT's alone,
 * graphql-ws operations need the same check from connectionParams, and each key is made a
 * KeyObject once (keyObject below).
 */
export function createTokenVerifier(config: KeyConfig, developmentSecret?: string): TokenVerifier {
  const { provider, algorithms } = signingKeys(config, developmentSecret);
  const options: jwt.VerifyOptions = {
    // Listing the algorithms is what refuses `alg: none` and HS256 tokens signed with a public key.
    algorithms,
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  };
  return async (token) => {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === "string") throw unauthenticated("The token is not a well-formed JWT.");
    if (!algorithms.includes(decoded.header.alg as jwt.Algorithm)) {
      throw unauthenticated(`Tokens signed with ${decoded.header.alg} are not accepted (expected ${algorithms.join(" or ")}).`);
    }
    const key = keyObject(await keyFor(provider, decoded.header.kid), algorithms);
    // jsonwebtoken throws a plain Error, not a refusal, for an algorithm its key cannot take (an
    // ES256 header with an RSA key's kid): the header is the caller's, so this is theirs too.
    if (algorithmOf(key) !== decoded.header.alg) {
      throw unauthenticated(`The token's algorithm (${decoded.header.alg}) is not its key's (kid ${decoded.header.kid ?? "missing"}).`);
    }
    try {
      return jwt.verify(token, key, options) as jwt.JwtPayload;
    } catch (error) {
      throw unauthenticated(refusal(error));
    }
  };
}

function signingKeys(config: KeyConfig, developmentSecret?: string): { provider: GetSigningKeyFunction; algorithms: jwt.Algorithm[] } {
  const asymmetric: jwt.Algorithm[] = ["RS256", "ES256"];
  if (config.JWT_JWKS_URL) {
    return {
      provider: createRemoteJwksSigningKeyProvider({ jwksUri: config.JWT_JWKS_URL, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
      algorithms: asymmetric,
    };
  }
  if (config.JWT_JWKS_FILE) return { provider: jwksFileProvider(config.JWT_JWKS_FILE), algorithms: asymmetric };
  const secret = config.JWT_SECRET ?? developmentSecret;
  if (!secret) throw new ConfigError("Invalid configuration:\n  JWT_SECRET: no token key is configured");
  return { provider: createInlineSigningKeyProvider(secret), algorithms: ["HS256"] };
}

/** Public keys from a JWKS file, read once at start: a broken file stops the start and says so. */
function jwksFileProvider(file: string): GetSigningKeyFunction {
  let keys: Map<string | undefined, string>;
  try {
    const jwks = JSON.parse(readFileSync(file, "utf8")) as { keys?: (JsonWebKey & { kid?: string; use?: string })[] };
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error("it has no keys");
    keys = new Map(
      jwks.keys
        .filter((k) => k.use === undefined || k.use === "sig")
        .map((k) => [k.kid, createPublicKey({ key: k, format: "jwk" }).export({ type: "spki", format: "pem" }).toString()]),
    );
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  JWT_JWKS_FILE: cannot use ${file} as a JWKS (${(error as Error).message})`);
  }
  const only = keys.size === 1 ? [...keys.values()][0] : undefined;
  // A token without `kid` may only stand for the single key of a one-key set.
  return (kid) => (kid === undefined ? only : keys.get(kid)) ?? "";
}

// jsonwebtoken turns a key given as a string into a KeyObject on every verify, 0.6 ms of CPU per
// request here (bench/README.md): each key is turned into one once.
const keyObjects = new Map<string, KeyObject>();
function keyObject(key: string, algorithms: jwt.Algorithm[]): KeyObject {
  let made = keyObjects.get(key);
  if (!made) {
    made = algorithms.includes("HS256") ? createSecretKey(Buffer.from(key, "utf8")) : createPublicKey(key);
    keyObjects.set(key, made);
  }
  return made;
}

/** The one algorithm a key signs with here: HS256 for the secret, RS256 for RSA, ES256 for P-256. */
function algorithmOf(key: KeyObject): jwt.Algorithm | undefined {
  if (key.type === "secret") return "HS256";
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  return undefined;
}

async function keyFor(provider: GetSigningKeyFunction, kid: string | undefined): Promise<string> {
  const noKey = `No signing key matches the token's key id (kid ${kid ?? "missing"})`;
  try {
    const key = await provider(kid);
    if (key) return key;
  } catch (error) {
    const name = (error as Error).name;
    // jwks-rsa: an unknown kid is the caller's problem; an unreachable JWKS URL is ours (masked, logged).
    // Tokens with made-up kids make it fetch the key set again, at most 10 times a minute; beyond
    // that the kid is as unknown as before, not a fault of ours.
    if (name === "JwksRateLimitError") throw unauthenticated(`${noKey}; the key set was fetched too often to look again now.`);
    if (name !== "SigningKeyNotFoundError") throw error;
  }
  throw unauthenticated(`${noKey}.`);
}

function refusal(error: unknown): string {
  if (error instanceof jwt.TokenExpiredError) return `The token expired at ${error.expiredAt.toISOString()}.`;
  if (error instanceof jwt.NotBeforeError) return `The token is not valid before ${error.date.toISOString()}.`;
  if (error instanceof jwt.JsonWebTokenError) {
    // jsonwebtoken says "jwt audience invalid. expected: …": keep the reason, not what we expect.
    const reason = error.message.replace(/^jwt /, "").replace(/\. expected:.*$/s, "");
    return `The token was refused: ${reason}.`;
  }
  throw error;
}
