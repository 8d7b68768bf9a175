import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { DateTimeResolver, EmailAddressResolver, JSONObjectResolver, JSONResolver, PhoneNumberResolver } from "graphql-scalars";
import { DomainError } from "../domain/errors.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../domain/paging.js";
import type PrismaTypes from "../generated/pothos-types.js";
import { getDatamodel } from "../generated/pothos-types.js";
import type { GraphQLContext } from "./context.js";

/**
 * The schema builder: plugins, scalars and defaults, no object types (those live in types/, one
 * file per GraphQL type, assembled by schema.ts).
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Connection: { totalCount: () => Promise<number> };
  // Roles, highest last: VIEWER reads, AGENT also works conversations, ADMIN also manages the workspace.
  AuthScopes: { agent: boolean; admin: boolean };
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    // `{} | null`, not unknown: inputRef reads the domain's Record<string, unknown> as values of
    // `{} | null | undefined`, which unknown is not assignable to; a parsed JSON value is never undefined.
    JSONObject: { Input: Record<string, {} | null>; Output: object };
    EmailAddress: { Input: string; Output: string };
    PhoneNumber: { Input: string; Output: string };
  };
}>({
  // Scope auth first: it wraps every resolver the other plugins create.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      agent: ctx.viewer.role === "AGENT" || ctx.viewer.role === "ADMIN",
      admin: ctx.viewer.role === "ADMIN",
    }),
    unauthorizedError: (_parent, ctx, info) =>
      new DomainError("FORBIDDEN", `Your role (${ctx.viewer.role}) may not use ${info.parentType.name}.${info.fieldName}.`),
  },
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.db.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    // Relations are resolved through the request's DataLoaders, never lazily per row.
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    // node and nodes are defined in types/Node.ts so they go through the workspace-scoped loaders.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // No prismaNode: each Node type exposes its id as it is (already global: a type prefix and a
    // random suffix), since relay's id fields resolve asynchronously, a promise per row.
    pageInfoTypeOptions: { description: "Where a page sits in its list, for Relay cursor paging." },
    nodeTypeOptions: { description: "A record with a globally unique id; `node(id:)` fetches any of them." },
    defaultConnectionTypeOptions: { description: "A page of records with cursors, following the Relay connection spec." },
    defaultEdgeTypeOptions: { description: "A record in a page, with the cursor that points at it." },
    idFieldOptions: { description: "The record's globally unique id; its prefix names its type." },
    firstArgOptions: { description: `Page size from the start or from \`after\` (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}).` },
    afterArgOptions: { description: "A cursor from this list: the page starts after it." },
    lastArgOptions: { description: `Page size counting back from the end or from \`before\` (at most ${MAX_PAGE_SIZE}).` },
    beforeArgOptions: { description: "A cursor from this list: the page ends before it." },
    edgesFieldOptions: { description: "The records of this page, each with its cursor." },
    pageInfoFieldOptions: { description: "Where this page sits, and the cursors to page on." },
    cursorFieldOptions: { description: "An opaque cursor for paging from this record." },
    nodeFieldOptions: { description: "The record." },
    hasNextPageFieldOptions: { description: "Whether more records follow this page." },
    hasPreviousPageFieldOptions: { description: "Whether records precede this page." },
    startCursorFieldOptions: { description: "The cursor of the first record of the page." },
    endCursorFieldOptions: { description: "The cursor of the last record of the page: pass it as `after` for the next page." },
  },
});

/**
 * Every field of a domain input type and no other, for `fields: (t) => ({ … }) satisfies
 * EveryField<Shape>` after builder.inputRef<Shape>(): Pothos checks the type of each field the
 * shape has, but lets an optional field of the shape go undeclared and takes fields it lacks.
 */
export type EveryField<Shape> = Record<keyof Shape, unknown>;

builder.addScalarType("DateTime", storableDateTime(DateTimeResolver));
builder.addScalarType("JSON", JSONResolver);
builder.addScalarType("JSONObject", JSONObjectResolver);
builder.addScalarType("EmailAddress", EmailAddressResolver);
builder.addScalarType("PhoneNumber", strictE164(PhoneNumberResolver));

builder.queryType({ description: "Reads, confined to the caller's workspace. Any role may read, except the API key list (ADMIN)." });
builder.mutationType({
  description:
    "Writes, confined to the caller's workspace. Each runs in one transaction, records its activity and publishes one event after commit; a failed write changes nothing. Several in one request run one after another, each committing on its own: every field is nullable, so the ones that succeeded show their results even when a later one fails (null, with its error).",
});

builder.subscriptionType({
  description:
    "Live feeds, confined to the caller's workspace, over GraphQL over Server-Sent Events or graphql-ws on the GraphQL endpoint. Any role may subscribe.",
});

builder.globalConnectionField("totalCount", (t) =>
  t.int({
    description: "How many records the list holds across all pages (one extra query per list, however many parents it is nested under; ask only when shown).",
    resolve: (connection) => connection.totalCount(),
  }),
);

/**
 * PostgreSQL has no year 0 and JavaScript dates reach years PostgreSQL cannot store: a date-time
 * outside years 1 to 9999 would fail in SQL, so it is refused as input. Output is the ISO string
 * graphql-scalars' Date would become anyway, made here: JSON.stringify reaching each Date's toJSON
 * cost 0.9 to 1.6 µs a date, toISOString alone 0.4 to 0.8.
 */
function storableDateTime(scalar: GraphQLScalarType): GraphQLScalarType {
  const check = (date: unknown, nodes?: ValueNode) => {
    const year = date instanceof Date ? date.getUTCFullYear() : NaN;
    if (!(year >= 1 && year <= 9999)) throw new GraphQLError("DateTime must fall between the years 0001 and 9999 (UTC).", { nodes });
    return date as Date;
  };
  return new GraphQLScalarType({
    ...scalar.toConfig(),
    serialize: (value) => (scalar.serialize(value) as Date).toISOString(),
    parseValue: (value) => check(scalar.parseValue(value)),
    parseLiteral: (ast, variables) => check(scalar.parseLiteral(ast, variables), ast),
  });
}

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * graphql-scalars' PhoneNumber also takes numbers without a country code, spaces and dashes; the
 * contract stores E.164 only (a + and 7 to 15 digits), so input is held to that.
 */
function strictE164(scalar: GraphQLScalarType): GraphQLScalarType {
  const check = (value: unknown, nodes?: ValueNode) => {
    if (typeof value !== "string" || !E164.test(value)) {
      throw new GraphQLError(`Invalid phone number ${JSON.stringify(value)}: use E.164, a + and 7 to 15 digits, e.g. +351912345678.`, { nodes });
    }
    return value;
  };
  return new GraphQLScalarType({
    ...scalar.toConfig(),
    parseValue: check,
    parseLiteral: (ast) => check(ast.kind === Kind.STRING ? ast.value : undefined, ast),
  });
}
