import { GraphQLError, type ExecutionResult } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { isStatementTimeout, STATEMENT_TIMED_OUT } from "../domain/errors.js";
import type { Logger } from "../logger.js";

// graphql-js and Yoga's own codes for a request that does not parse or validate (unknown field,
// unknown enum value, …), is not a GraphQL request at all (no query, an unknown parameter), or
// that Yoga refuses before that (malformed JSON, a body over the size limit, a batch, a mutation
// over GET): to a client these are simply bad input, as the contract names it. The HTTP status
// (400, 405, 413 …) stays as Yoga set it.
const REQUEST_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "REQUEST_ENTITY_TOO_LARGE",
  "OPERATION_RESOLUTION_FAILURE",
]);

/**
 * What a request error may tell a client. With introspection off, graphql-js's "Did you mean …?"
 * would still spell out the names it hides: fields, arguments, input fields, types, enum values.
 */
export interface ErrorPolicy {
  hideSuggestions: boolean;
}

// graphql-js words them `Did you mean "x"?`, `Did you mean "x" or "y"?`, `Did you mean the enum value "X"?`.
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** An expected error with the contract's code: BAD_USER_INPUT, or UNAUTHENTICATED / FORBIDDEN for a 401 / 403. */
export function withContractCode(error: GraphQLError, policy: ErrorPolicy): GraphQLError {
  // graphql-jit's variable errors carry no extensions object at all, unlike graphql-js's.
  const extensions: GraphQLError["extensions"] = error.extensions ?? {};
  const given = extensions.code;
  if (typeof given === "string" && !REQUEST_ERROR_CODES.has(given)) return error;
  const status = (extensions.http as { status?: number } | undefined)?.status;
  const field = status === 401 || status === 403 ? undefined : variableField(error.message);
  // A variable that cannot be coerced fails the whole request: 400 for clients of
  // application/graphql-response+json, as the GraphQL-over-HTTP spec has it (`spec`: Yoga keeps
  // 200 for application/json).
  const http = field && status === undefined ? { http: { status: 400, spec: true } } : {};
  const message = policy.hideSuggestions ? error.message.replace(SUGGESTION, "") : error.message;
  return withExtensions(error, { ...extensions, code: codeForStatus(status), ...(field ? { field } : {}), ...http }, message);
}

/** The same error with other extensions (GraphQLError's are read-only). */
function withExtensions(error: GraphQLError, extensions: GraphQLError["extensions"], message = error.message): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}

/**
 * An error as a client of a socket may see it: `extensions.http` (a status and headers, such as
 * Retry-After) is for Yoga's HTTP responses, which strip it; graphql-ws would send it as it is.
 */
export function withoutHttp(error: GraphQLError): GraphQLError {
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return withExtensions(error, extensions);
}

function codeForStatus(status: number | undefined): string {
  if (status === 401) return "UNAUTHENTICATED";
  // Yoga's own 403 is the CSRF check: the request lacks a header a browser page cannot forge.
  if (status === 403) return "FORBIDDEN";
  return "BAD_USER_INPUT";
}

/**
 * The input field a variable coercion error is about (a bad phone number, email, enum value, a
 * missing or unknown input field, a null for a non-null variable): graphql-js names it only in the
 * message, as `Variable "$input" got invalid value … at "input.phone"` or `…; Field "channel" of
 * required type "Channel!" was not provided.`
 */
function variableField(message: string): string | undefined {
  const variable = /^Variable "\$([^"]+)"/.exec(message)?.[1];
  if (!variable) return undefined;
  const at = /^Variable "\$[^"]+" got invalid value .*? at "([^"]+)"/s.exec(message)?.[1] ?? variable;
  const inner = /; Field "([^"]+)" (?:of required type "[^"]+" was not provided|is not defined by type)/.exec(message)?.[1];
  return inner ? `${at}.${inner}` : at;
}

const STATEMENT_TIMEOUT_MESSAGE = `${STATEMENT_TIMED_OUT}; nothing this field was changing was kept. Ask for less (a narrower filter, a longer search term, no totalCount) or try again.`;

/** An error raised on purpose (by our code, graphql-js or a plugin): it keeps its message. */
const isExpected = (error: unknown): error is GraphQLError =>
  error instanceof GraphQLError && (!error.originalError || error.originalError instanceof GraphQLError);

/** What went wrong below an error graphql-js wrapped around it. */
const causeOf = (error: unknown): unknown => (error instanceof GraphQLError ? (error.originalError ?? error) : error);

// Causes already logged, so an error seen both by useUnexpectedErrorLog and the mask is logged once.
const logged = new WeakSet<object>();

/** Logs an unexpected error once; expected errors are not logged. */
export function logUnexpected(log: Logger, error: unknown): void {
  if (isExpected(error)) return;
  const cause = causeOf(error);
  if (typeof cause === "object" && cause !== null) {
    if (logged.has(cause)) return;
    logged.add(cause);
  }
  log.error({ err: cause, path: error instanceof GraphQLError ? error.path : undefined }, "unexpected error (masked)");
}

/**
 * Yoga's error mask. Expected errors keep their message and get a contract code; anything else is
 * logged (unless useUnexpectedErrorLog already logged it with its request's id) and replaced by a
 * bare INTERNAL_SERVER_ERROR, so no stack, SQL or file path reaches a client; a statement the
 * database stopped at its timeout says so.
 */
export function createMaskError(log: Logger, policy: ErrorPolicy) {
  return (error: unknown, message: string): GraphQLError => {
    if (isExpected(error)) return withContractCode(error, policy);
    logUnexpected(log, error);
    return new GraphQLError(isStatementTimeout(causeOf(error)) ? STATEMENT_TIMEOUT_MESSAGE : message, {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
  };
}

/**
 * Logs the unexpected errors of an operation's result with the operation's own logger, the one
 * that carries its request id (Yoga's mask is not told which request an error belongs to). Runs
 * before the mask, for results and for every event of a subscription.
 */
export function useUnexpectedErrorLog(): Plugin<{ log: Logger }> {
  const logErrors = (log: Logger, result: ExecutionResult) => result.errors?.forEach((error) => logUnexpected(log, error));
  return {
    onExecute: () => ({
      onExecuteDone: ({ args, result }) => {
        if (!isAsyncIterable(result)) logErrors(args.contextValue.log, result);
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ args }) => ({ onNext: ({ result }) => logErrors(args.contextValue.log, result) }),
    }),
  };
}

/** Parse and validation errors never reach the mask; this gives them the contract's code too. */
export function useContractErrorCodes(policy: ErrorPolicy): Plugin {
  const recode = (result: ExecutionResult): ExecutionResult =>
    result.errors?.length
      ? { ...result, errors: result.errors.map((e) => (e instanceof GraphQLError ? withContractCode(e, policy) : e)) }
      : result;
  return {
    onResultProcess({ result, setResult }) {
      if (isAsyncIterable(result)) return;
      setResult(Array.isArray(result) ? result.map(recode) : recode(result as ExecutionResult));
    },
  };
}
