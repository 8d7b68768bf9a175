import { readFile } from "node:fs/promises";
import { parse, validate, type GraphQLSchema } from "graphql";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import { createGraphQLError, type GraphQLParams, type Plugin } from "graphql-yoga";
import { ConfigError } from "../config.js";
import { operationNames as namesIn, sha256 } from "../graphql/operations.js";

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

/**
 * The document's hash a client sent: Apollo's `extensions.persistedQuery.sha256Hash` (what Apollo,
 * urql and Code Generator's clients send), or the GraphQL-over-HTTP `documentId` ("sha256:<hex>").
 */
function persistedOperationId(params: GraphQLParams & { documentId?: unknown }): string | null {
  if (typeof params.documentId === "string") return params.documentId.replace(/^sha256:/, "");
  const persisted = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === "string" ? persisted.sha256Hash : null;
}

// Apollo and urql clients match this exact message or code to fall back to sending the document.
const notFound = { message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } };
const missingQuery = {
  message: "Must provide a query, or the hash of a persisted document in extensions.persistedQuery.sha256Hash.",
  extensions: { code: "BAD_USER_INPUT" },
};

/**
 * Allow-list mode: only the manifest's documents run, sent by hash. An unknown hash is
 * PERSISTED_QUERY_NOT_FOUND; a document sent as text is FORBIDDEN unless `allowAdhoc`
 * (development, so GraphiQL keeps working).
 */
export function useTrustedDocuments(manifest: Manifest, options: { allowAdhoc: boolean }): Plugin {
  return usePersistedOperations({
    extractPersistedOperationId: persistedOperationId,
    getPersistedOperation: (hash) => manifest.documents.get(hash) ?? null,
    allowArbitraryOperations: options.allowAdhoc,
    customErrors: {
      notFound,
      keyNotFound: missingQuery,
      persistedQueryOnly: {
        message:
          "This gateway runs trusted documents only: send the hash of a document from its manifest " +
          "(extensions.persistedQuery.sha256Hash or documentId) instead of the document itself.",
        extensions: { code: "FORBIDDEN" },
      },
    },
  });
}

/** How much document text the APQ cache keeps per instance, least recently used out first. */
const APQ_CACHE_CHARACTERS = 5_000_000;

/**
 * Automatic persisted queries (Apollo's protocol): a client sends only the hash; on
 * PERSISTED_QUERY_NOT_FOUND it sends hash and document once, and from then on the hash alone works.
 * The cache is per instance: another instance answers NOT_FOUND once, and the client falls back.
 */
export function useAutomaticPersistedQueries(): Plugin[] {
  const cache = new Map<string, string>();
  let characters = 0;
  const remember = (hash: string, document: string) => {
    if (cache.has(hash) || document.length > APQ_CACHE_CHARACTERS) return;
    cache.set(hash, document);
    characters += document.length;
    for (const [oldest, text] of cache) {
      if (characters <= APQ_CACHE_CHARACTERS) break;
      cache.delete(oldest);
      characters -= text.length;
    }
  };
  const recall = (hash: string) => {
    const document = cache.get(hash);
    if (document === undefined) return null;
    // Refresh its place in the eviction order.
    cache.delete(hash);
    cache.set(hash, document);
    return document;
  };
  return [
    {
      onParams({ params }) {
        const hash = persistedOperationId(params);
        if (hash === null || typeof params.query !== "string") return;
        // Only a document that matches its hash is kept: nobody can plant a document under another's hash.
        if (sha256(params.query) !== hash) {
          throw createGraphQLError("The provided sha256Hash does not match the query.", { extensions: { code: "BAD_USER_INPUT" } });
        }
        remember(hash, params.query);
      },
    },
    usePersistedOperations({
      extractPersistedOperationId: persistedOperationId,
      getPersistedOperation: recall,
      allowArbitraryOperations: true,
      customErrors: { notFound, keyNotFound: missingQuery },
    }),
  ];
}

/**
 * APQ=off: a hash-only request gets PERSISTED_QUERY_NOT_SUPPORTED, on which Apollo's client stops
 * sending hashes and sends documents, rather than failing on a missing query.
 */
export function usePersistedQueriesNotSupported(): Plugin {
  return {
    onParams({ params }) {
      if (typeof params.query !== "string" && persistedOperationId(params) !== null) {
        throw createGraphQLError("PersistedQueryNotSupported", { extensions: { code: "PERSISTED_QUERY_NOT_SUPPORTED" } });
      }
    },
  };
}
