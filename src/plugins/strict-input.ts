import { getOperationAST, GraphQLError, type ASTVisitor, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";

// PostgreSQL text cannot hold U+0000, and a lone UTF-16 surrogate has no UTF-8 form: the first
// fails the write, the second is silently replaced by U+FFFD on the way to the database.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_HINT = "contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored as text";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function badRequest(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", http: { status: 400 }, ...(field ? { field } : {}) } });
}

/** Where in a variables object the first unstorable string (or object key) is, as "input.body". */
function unstorablePath(variables: unknown): string | undefined {
  // Iterative: a 100 KB body can nest tens of thousands of levels deep.
  const pending: [unknown, string][] = [[variables, ""]];
  while (pending.length) {
    const [value, path] = pending.pop()!;
    if (typeof value === "string") {
      if (UNSTORABLE.test(value)) return path;
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => pending.push([item, `${path}.${i}`]));
    } else if (value && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        if (UNSTORABLE.test(key)) return at;
        pending.push([item, at]);
      }
    }
  }
  return undefined;
}

/**
 * The refusal for variables holding a string PostgreSQL cannot store, or null. Over HTTP the
 * plugin below applies it; graphql-ws, which skips Yoga's onParams, applies it itself.
 */
export function unstorableVariables(variables: unknown): GraphQLError | null {
  const at = unstorablePath(variables);
  if (at === undefined) return null;
  return badRequest(`Variable "$${at.split(".")[0]}" ${UNSTORABLE_HINT} at "${at}".`, at);
}

/** The same check for string literals written into the document itself ("\u0000" is legal GraphQL). */
function StorableStringLiterals(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node) {
      if (UNSTORABLE.test(node.value)) {
        context.reportError(new GraphQLError(`A string literal ${UNSTORABLE_HINT}.`, { nodes: node, extensions: { code: "BAD_USER_INPUT" } }));
      }
    },
  };
}

/**
 * Text reaches resolvers exactly as sent, or not at all: a body that is not valid UTF-8 is refused
 * with 400 (instead of being decoded with U+FFFD replacement characters and stored garbled), and
 * so is a query string with a malformed percent-escape; strings PostgreSQL cannot store are
 * refused as BAD_USER_INPUT before any resolver runs. A body of a type no parser takes gets a 415
 * that says so.
 */
export function useStrictInput(): Plugin {
  return {
    onRequestParse({ request, url, requestParser, setRequestParser, fetchAPI }) {
      if (request.method === "GET") {
        try {
          for (const part of url.search.slice(1).split(/[&=]/)) decodeURIComponent(part.replace(/\+/g, " "));
        } catch {
          throw badRequest("The query string is not valid percent-encoded UTF-8.");
        }
        return;
      }
      if (!requestParser) {
        // Yoga would answer 415 with an empty body; say what to send instead.
        const type = request.headers.get("content-type") ?? "none";
        throw new GraphQLError(`Unsupported content type "${type}": send application/json.`, {
          extensions: { code: "BAD_USER_INPUT", http: { status: 415 } },
        });
      }
      if (!request.body) return;
      const parse = requestParser;
      setRequestParser(async (limited) => {
        // Yoga's body size limit wraps this parser, so reading the whole body here is bounded.
        const bytes = await limited.arrayBuffer();
        try {
          utf8.decode(bytes);
        } catch {
          throw badRequest("The request body is not valid UTF-8.");
        }
        return parse(new fetchAPI.Request(limited.url, { method: limited.method, headers: limited.headers, body: bytes }));
      });
    },
    onParams({ params, setResult }) {
      const refused = unstorableVariables(params.variables);
      if (refused) setResult({ errors: [refused] });
    },
    onParse() {
      // Yoga's own answer, "Could not determine what operation to execute.", does not say why.
      return ({ result, context }) => {
        if (!result || result instanceof Error) return;
        const name = (context as { params?: { operationName?: string } }).params?.operationName;
        if (getOperationAST(result, name)) return;
        throw badRequest(name ? `Unknown operation named "${name}".` : 'The document has several operations (or none): name the one to run in "operationName".');
      };
    },
    onValidate({ addValidationRule }) {
      addValidationRule(StorableStringLiterals);
    },
  };
}
