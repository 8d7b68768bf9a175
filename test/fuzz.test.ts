import { readFileSync } from "node:fs";
import {
  buildSchema,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { random } from "../src/db/seed.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

// Random but valid operations built from the published schema.graphql (not from the code that
// serves it), with random variables of the right types, sent through the gateway. Whatever they
// ask, the answer may be data or a contract error, never INTERNAL_SERVER_ERROR.
// FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> changes how many operations are sent.
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const CONTRACT_CODES = ["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED"];
// Deep enough to reach every type from the root, shallow enough to stay under the depth limit.
const MAX_SELECTION_DEPTH = 5;

const schema = buildSchema(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));

const TEXTS = [
  "",
  " ",
  "refund",
  "VIP",
  "shipping",
  "q4-review",
  "Ünïcødé ✓ 你好 😀",
  "Robert'); DROP TABLE \"Conversation\"; --",
  "<script>alert(1)</script>",
  "%_\\",
  "x".repeat(60),
  "line\nbreak\ttab",
  // Valid GraphQL strings that PostgreSQL text cannot hold: BAD_USER_INPUT, never a failed INSERT.
  "nul\u0000byte",
  "lone \uD800 surrogate",
];

/** The seed's PRNG, plus a coin with odds. */
function prng(seed: number) {
  const r = random(seed);
  return { ...r, chance: (p: number) => r.next() < p };
}
type Random = ReturnType<typeof prng>;

// Which kind of id an argument wants, from its name or its field's ("contactId", "assignConversation").
const ID_KINDS: [RegExp, string][] = [
  [/contact/i, "cnt_"],
  [/agent|assign/i, "agt_"],
  [/apikey/i, "key_"],
  [/message/i, "msg_"],
  [/conversation|label|tag|read|status|priority|bulk/i, "conv_"],
];

/** Mostly an id of the kind the argument wants, sometimes any id, sometimes one that exists nowhere. */
function idFor(hint: string, r: Random, ids: string[]): string {
  if (r.chance(0.1)) return r.pick(["conv_doesnotexist0000", "cnt_0", "", "wsp_other000000000000", "not an id"]);
  const segments = hint.split(".").reverse();
  const prefix = segments.map((segment) => ID_KINDS.find(([pattern]) => pattern.test(segment))?.[1]).find(Boolean);
  const wanted = ids.filter((id) => prefix && id.startsWith(prefix));
  return r.pick(wanted.length && r.chance(0.85) ? wanted : ids);
}

/** Values of one GraphQL input type; `ids` are real ids of the seeded workspace. */
function valueOf(type: GraphQLInputType, r: Random, ids: string[], hint: string, nullable = true): unknown {
  if (isNonNullType(type)) return valueOf(type.ofType, r, ids, hint, false);
  if (nullable && r.chance(0.1)) return null;
  if (isListType(type)) return Array.from({ length: r.int(0, 3) }, () => valueOf(type.ofType as GraphQLInputType, r, ids, hint));
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type) || r.chance(0.5)) out[field.name] = valueOf(field.type, r, ids, `${hint}.${field.name}`);
    }
    return out;
  }
  if (isEnumType(type)) return r.pick(type.getValues()).name;
  const name = hint.split(".").pop()!;
  switch (type.name) {
    case "ID":
      return idFor(hint, r, ids);
    case "Int":
      return /^(first|last)$/.test(name) ? r.pick([0, 1, 2, 5, 20, 100, 101, -1]) : r.int(-10, 1000);
    case "Float":
      return r.int(-1000, 1000) / 7;
    case "Boolean":
      return r.chance(0.5);
    case "String":
      if (/^(after|before)$/.test(name)) return r.pick(["", "bm90IGEgY3Vyc29y", "garbage", "eyJpZCI6MX0="]);
      if (/label|tag/i.test(name)) return r.pick(["vip", "billing", "Shipping ", "q4-review", "a b_c-d", "x".repeat(51), "bad/label"]);
      return r.pick(TEXTS);
    case "DateTime":
      return new Date(Date.UTC(r.int(2000, 2030), r.int(0, 11), r.int(1, 28), r.int(0, 23), r.int(0, 59))).toISOString();
    case "EmailAddress":
      return `fuzz${r.int(0, 10_000)}@example.com`;
    case "PhoneNumber":
      return `+3519${r.int(10_000_000, 99_999_999)}`;
    case "JSONObject":
      return r.chance(0.5) ? {} : { tier: r.pick(TEXTS), level: r.int(0, 9), nested: { ok: r.chance(0.5) } };
    case "JSON":
      return r.pick([null, 1, "text", [1, 2], { a: 1 }]);
    default:
      throw new Error(`the fuzzer has no values for scalar ${type.name}; add them`);
  }
}

interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

/** A random operation of the given root type with 1 to `maxFields` root fields. */
function operation(root: GraphQLObjectType, kind: "query" | "mutation", maxFields: number, r: Random, ids: string[]): Operation {
  const variables: Record<string, unknown> = {};
  const definitions: string[] = [];

  const argumentsOf = (field: GraphQLField<unknown, unknown>) => {
    const args = field.args;
    const given = args.filter((arg) => isNonNullType(arg.type) || r.chance(0.5));
    if (!given.length) return "";
    return `(${given
      .map((arg) => {
        const name = `v${definitions.length}`;
        definitions.push(`$${name}: ${String(arg.type)}`);
        variables[name] = valueOf(arg.type, r, ids, `${field.name}.${arg.name}`);
        return `${arg.name}: $${name}`;
      })
      .join(", ")})`;
  };

  const selectionOf = (type: GraphQLOutputType, depth: number): string | null => {
    const named = getNamedType(type);
    if (isLeafType(named)) return "";
    if (depth >= MAX_SELECTION_DEPTH) return null;
    if (isAbstractType(named)) {
      const fragments = r.sample(schema.getPossibleTypes(named), r.int(1, 2)).map((t) => `... on ${t.name} ${selectionOf(t, depth) ?? "{ __typename }"}`);
      return `{ __typename ${fragments.join(" ")} }`;
    }
    if (!isObjectType(named)) return null;
    const fields = r.sample(Object.values(named.getFields()) as GraphQLField<unknown, unknown>[], r.int(1, 4));
    const parts = fields.flatMap((field) => {
      const sub = selectionOf(field.type, depth + 1);
      return sub === null ? [] : [`${field.name}${argumentsOf(field)}${sub ? ` ${sub}` : ""}`];
    });
    return `{ ${parts.length ? parts.join(" ") : "__typename"} }`;
  };

  const rootFields = r.sample(Object.values(root.getFields()) as GraphQLField<unknown, unknown>[], r.int(1, maxFields));
  const body = rootFields
    .map((field) => `${field.name}${argumentsOf(field)} ${selectionOf(field.type, 1) ?? "{ __typename }"}`.trim())
    .join("\n  ");
  const header = definitions.length ? `${kind} Fuzz(${definitions.join(", ")})` : `${kind} Fuzz`;
  return { query: `${header} {\n  ${body}\n}`, variables };
}

let t: TestGateway;
let ids: string[];
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 15, conversations: 30 } });
  ids = [];
  for (const table of ["Conversation", "Contact", "Agent", "Message", "ConversationActivity", "ApiKey"]) {
    const rows = await t.db.prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT "id" FROM "${table}" ORDER BY "id" LIMIT 15`);
    ids.push(...rows.map((row) => row.id));
  }
});
afterAll(() => t?.close());

describe("fuzz", () => {
  it(`${RUNS} random valid operations from schema.graphql never produce INTERNAL_SERVER_ERROR`, async () => {
    console.log(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const r = prng(SEED);
    const codes = new Map<string, number>();
    const failures: { operation: Operation; errors: unknown }[] = [];
    let mutations = 0;
    let withData = 0;
    for (let run = 0; run < RUNS; run++) {
      const op = r.chance(0.35)
        ? (mutations++, operation(schema.getMutationType()!, "mutation", 1, r, ids))
        : operation(schema.getQueryType()!, "query", 3, r, ids);
      const response = await t.gql(op.query, op.variables);
      if (response.data && Object.values(response.data).some((v) => v !== null)) withData++;
      for (const error of response.errors ?? []) {
        const code = String(error.extensions?.code);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      const bad = (response.errors ?? []).filter((e) => !CONTRACT_CODES.includes(e.extensions?.code));
      if (response.status >= 500 || bad.length) failures.push({ operation: op, errors: bad.length ? bad : response });
    }
    console.log(
      `fuzz: ${RUNS} operations (${RUNS - mutations} queries, ${mutations} mutations), ${withData} returned data; error codes: ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    expect(failures, `seed ${SEED}, first failure:\n${failures[0]?.operation.query}\n${JSON.stringify(failures[0]?.operation.variables)}\n${JSON.stringify(failures[0]?.errors)}`).toEqual([]);
    // The run exercised the resolvers rather than bouncing off validation.
    expect(withData).toBeGreaterThan(RUNS / 3);
  }, 120_000);
});
