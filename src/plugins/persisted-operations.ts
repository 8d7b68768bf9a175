import { readFile } from "node:fs/promises";
import { parse, validate, type GraphQLSchema } from "graphql";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import { ConfigError } from "../config.js";
import { operationNames as namesIn, sha256 } from "../graphql/operations.js";
import type { Logger } from "../logger.js";

/** The trusted documents: hash → document text, and the operation names they define. */
export interface Manifest {
  documents: ReadonlyMap<string, string>;
  operationNames: ReadonlySet<string>;
}

/**
 * Reads a manifest in the format GraphQL Code Generator's client preset writes
 * (persisted-documents.json: `{ "<hash>": "query … " }`) and checks every document against the
 * schema, so a stale manifest stops the start instead of failing its clients one by one.
 */
export async function loadManifest(path: string, schema: GraphQLSchema): Promise<Manifest> {
  const fail = (why: string) => new ConfigError(`Invalid configuration:\n  PERSISTED_OPERATIONS: ${why}`);
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw fail(`cannot read ${path} (${error.code ?? error.message})`);
  });
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch (error) {
    throw fail(`${path} is not JSON (${(error as Error).message})`);
  }
  if (!entries || typeof entries !== "object" || Array.isArray(entries)) throw fail(`${path} must be a JSON object of hash → document`);
  const documents = new Map<string, string>();
  const operationNames = new Set<string>();
  for (const [hash, document] of Object.entries(entries)) {
    if (typeof document !== "string") throw fail(`${path}: the entry ${hash} is not a document string`);
    let errors: readonly Error[];
    try {
      errors = validate(schema, parse(document));
    } catch (error) {
      errors = [error as Error];
    }
    if (errors.length) throw fail(`${path}: the document ${hash} does not fit the schema (${errors[0]!.message})`);
    documents.set(hash, document);
    for (const name of namesIn(document)) operationNames.add(name);
  }
  if (documents.size === 0) throw fail(`${path} lists no operations`);
  return { documents, operationNames };
}

/** The parts of a request (HTTP params or a graphql-ws subscribe payload) that name its document. */
export interface PersistedParams {
  query?: unknown;
  extensions?: unknown;
  documentId?: unknown;
}

/**
 * How the gateway finds the document a request runs, over HTTP (its Yoga plugins) and over
 * graphql-ws (which bypasses Yoga's request pipeline and calls `documentFor` itself).
 */
export interface PersistedDocuments {
  plugins: Plugin[];
  /** The document to run, null for "the request's own query, as it is"; rejects with what a client should see. */
  documentFor(params: PersistedParams): Promise<string | null>;
  /** Told when the operation of these params passed authentication and the rate limit (useAcceptedDocuments). */
  accepted(params: PersistedParams): void;
}

/**
 * The document's hash a client sent: Apollo's `extensions.persistedQuery.sha256Hash` (what Apollo,
 * urql and Code Generator's clients send), or the GraphQL-over-HTTP `documentId` ("sha256:<hex>").
 */
function persistedOperationId(params: PersistedParams): string | null {
  if (typeof params.documentId === "string") return params.documentId.replace(/^sha256:/, "");
  const persisted = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === "string" ? persisted.sha256Hash : null;
}

/** The document sent as text; graphql-ws requires a query string, so an empty one means none. */
const textOf = (params: PersistedParams) => (typeof params.query === "string" && params.query !== "" ? params.query : null);

// Apollo and urql clients match these exact messages or codes to fall back to sending the document.
const notFound = { message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } };
const notSupported = { message: "PersistedQueryNotSupported", extensions: { code: "PERSISTED_QUERY_NOT_SUPPORTED" } };
const missingQuery = {
  message: "Must provide a query, or the hash of a persisted document in extensions.persistedQuery.sha256Hash.",
  extensions: { code: "BAD_USER_INPUT" },
};
const adhocRefused = {
  message:
    "This gateway runs trusted documents only: send the hash of a document from its manifest " +
    "(extensions.persistedQuery.sha256Hash or documentId) instead of the document itself.",
  extensions: { code: "FORBIDDEN" },
};
const hashMismatch = { message: "The provided sha256Hash does not match the query.", extensions: { code: "BAD_USER_INPUT" } };
const errorOf = (error: { message: string; extensions: { code: string } }) => createGraphQLError(error.message, error);

/** Over HTTP: run `documentFor` on the request's params and put the document it names in place. */
function useDocumentFor(documentFor: PersistedDocuments["documentFor"]): Plugin {
  return {
    async onParams({ params, setParams }) {
      const document = await documentFor(params);
      if (document !== null && document !== params.query) setParams({ ...params, query: document });
    },
  };
}

/**
 * Tells `accepted` of each operation about to run, over HTTP and graphql-ws alike. Placed after
 * authentication and the rate limit: an operation they refuse never gets here.
 */
export function useAcceptedDocuments({ accepted }: Pick<PersistedDocuments, "accepted">): Plugin<{ params?: PersistedParams }> {
  const running = ({ args }: { args: { contextValue: { params?: PersistedParams } } }) => {
    if (args.contextValue.params) accepted(args.contextValue.params);
  };
  return { onExecute: running, onSubscribe: running };
}

/**
 * Allow-list mode: only the manifest's documents run, sent by hash. An unknown hash is
 * PERSISTED_QUERY_NOT_FOUND; a document sent as text is FORBIDDEN unless `allowAdhoc`
 * (development, so GraphiQL keeps working).
 */
export function trustedDocuments(manifest: Manifest, options: { allowAdhoc: boolean }): PersistedDocuments {
  const lookup = (hash: string) => manifest.documents.get(hash) ?? null;
  return {
    plugins: [
      usePersistedOperations({
        extractPersistedOperationId: persistedOperationId,
        getPersistedOperation: lookup,
        allowArbitraryOperations: options.allowAdhoc,
        customErrors: { notFound, keyNotFound: missingQuery, persistedQueryOnly: adhocRefused },
      }),
    ],
    async documentFor(params) {
      const text = textOf(params);
      if (text !== null) {
        if (!options.allowAdhoc) throw errorOf(adhocRefused);
        return text;
      }
      const hash = persistedOperationId(params);
      if (hash === null) throw errorOf(missingQuery);
      const document = lookup(hash);
      if (document === null) throw errorOf(notFound);
      return document;
    },
    accepted: () => undefined,
  };
}

/** How much document text the APQ cache keeps per instance. */
const APQ_CACHE_CHARACTERS = 5_000_000;
/** How long a document shared through Redis outlives its last fetch by an instance that lacked it. */
export const APQ_SHARED_TTL_SECONDS = 7 * 24 * 60 * 60;
export const apqSharedKey = (prefix: string, hash: string) => `${prefix}:apq:${hash}`;

/**
 * Automatic persisted queries (Apollo's protocol): a client sends only the hash; on
 * PERSISTED_QUERY_NOT_FOUND it sends hash and document once, and from then on the hash alone works.
 * Each instance keeps documents in memory. With Redis they are shared: an instance that lacks a
 * hash asks Redis before answering NOT_FOUND, and a document registered by an operation that is
 * about to run (authenticated, valid, within the rate limit: useAcceptedDocuments) is stored
 * there, so an anonymous caller cannot fill Redis. Redis being down only costs clients a
 * fallback: the instance answers from its own memory.
 */
export function automaticPersistedQueries({ redis, log, prefix }: { redis: Redis | null; log: Logger; prefix: string }): PersistedDocuments {
  // Least recently used out first, by the characters kept.
  const cache = new LRUCache<string, string>({ maxSize: APQ_CACHE_CHARACTERS, sizeCalculation: (document) => document.length });
  /** Keeps a document; false when it was already kept (or is too large to keep). */
  const remember = (hash: string, document: string) => !cache.has(hash) && cache.set(hash, document).has(hash);
  const recall = (hash: string) => cache.get(hash) ?? null;
  const shared = async (hash: string) => {
    if (redis?.status !== "ready") return null;
    try {
      return await redis.getex(apqSharedKey(prefix, hash), "EX", APQ_SHARED_TTL_SECONDS);
    } catch (err) {
      log.warn({ err }, "APQ: Redis did not answer; this instance answers from its own memory");
      return null;
    }
  };
  // Documents this instance took in, until their operation is authenticated and they go to Redis.
  const registered = new WeakMap<PersistedParams, { hash: string; document: string }>();

  const documentFor = async (params: PersistedParams) => {
    const hash = persistedOperationId(params);
    if (hash === null) return null;
    const text = textOf(params);
    if (text !== null) {
      // Only a document that matches its hash is kept: nobody can plant a document under another's hash.
      if (sha256(text) !== hash) throw errorOf(hashMismatch);
      if (remember(hash, text) && redis) registered.set(params, { hash, document: text });
      return text;
    }
    const document = recall(hash) ?? (await shared(hash));
    if (document === null) throw errorOf(notFound);
    remember(hash, document);
    return document;
  };
  const accepted = (params: PersistedParams) => {
    const registration = registered.get(params);
    if (!registration || redis?.status !== "ready") return;
    registered.delete(params);
    redis.set(apqSharedKey(prefix, registration.hash), registration.document, "EX", APQ_SHARED_TTL_SECONDS).catch((err: unknown) => {
      log.warn({ err }, "APQ: Redis did not take a document; other instances ask its client for it once");
    });
  };
  return { plugins: [useDocumentFor(documentFor)], documentFor, accepted };
}

/**
 * APQ=off: a hash alone gets PERSISTED_QUERY_NOT_SUPPORTED, on which Apollo's client stops
 * sending hashes and sends documents, rather than failing on a missing query.
 */
export function persistedQueriesNotSupported(): PersistedDocuments {
  const documentFor = async (params: PersistedParams) => {
    if (textOf(params) === null && persistedOperationId(params) !== null) throw errorOf(notSupported);
    return null;
  };
  return { plugins: [useDocumentFor(documentFor)], documentFor, accepted: () => undefined };
}
