import { getNamedType, isLeafType, isObjectType, type GraphQLField, type GraphQLObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../src/graphql/schema.js";
import { dataOf, startTestGateway, type TestGateway } from "./helpers.js";

// Reads select only the columns the query asks for (src/graphql/selection.ts), so a field that
// reads a column other than its own name must say so there. Asked for alone, on every path that
// reads its type, each field must give what it gives when everything is asked for: a computed
// field that forgets to declare its columns gets undefined on some path and fails here.
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 12, conversations: 30 } });
  dataOf(await t.gql(`mutation { createApiKey(name: "pruning") { apiKey { id } } }`));
});
afterAll(() => t?.close());

/** How one field of a type is asked for: leaves as they are, objects by id, connections by count. */
function selectionOf(field: GraphQLField<unknown, unknown>): string | null {
  const type = getNamedType(field.type);
  if (field.args.some((arg) => arg.type.toString().endsWith("!"))) return null;
  if (isLeafType(type)) return field.name;
  if (isObjectType(type)) return type.name.endsWith("Connection") ? `${field.name}(first: 2) { totalCount }` : `${field.name} { id }`;
  return null;
}

const objectType = (name: string) => schema.getType(name) as GraphQLObjectType;
const fieldsOf = (typeName: string) =>
  Object.values(objectType(typeName).getFields()).flatMap((field) => {
    const selection = selectionOf(field);
    return selection ? [{ name: field.name, selection }] : [];
  });

/** Every object in a response that is of `typeName`, by id. */
function collect(value: unknown, typeName: string, found = new Map<string, Record<string, unknown>>()) {
  if (Array.isArray(value)) for (const item of value) collect(item, typeName, found);
  else if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record.__typename === typeName && typeof record.id === "string") found.set(record.id, { ...found.get(record.id), ...record });
    for (const child of Object.values(record)) collect(child, typeName, found);
  }
  return found;
}

// Each path that reads the type: page statements, joins, loaders by id, nested lists.
const PATHS: Record<string, Record<string, (selection: string) => string>> = {
  Conversation: {
    "the conversations page": (s) => `{ conversations(first: 10) { edges { node { __typename ${s} } } } }`,
    "a contact's conversations": (s) => `{ contacts(first: 5) { edges { node { conversations(first: 5) { edges { node { __typename ${s} } } } } } } }`,
    "a message's conversation (by id)": (s) => `{ conversations(first: 5) { edges { node { messages(first: 2) { edges { node { conversation { __typename ${s} } } } } } } } }`,
  },
  Contact: {
    "the contacts page": (s) => `{ contacts(first: 10) { edges { node { __typename ${s} } } } }`,
    "a conversation's contact (joined)": (s) => `{ conversations(first: 10) { edges { node { contact { __typename ${s} } } } } }`,
  },
  Agent: {
    agents: (s) => `{ agents { __typename ${s} } }`,
    viewer: (s) => `{ viewer { __typename ${s} } }`,
    "a conversation's assignee (joined)": (s) => `{ conversations(first: 20) { edges { node { assignedTo { __typename ${s} } } } } }`,
    "a message's sender (joined)": (s) => `{ conversations(first: 10) { edges { node { messages(first: 5) { edges { node { sender { __typename ${s} } } } } } } } }`,
    "an API key's creator (by id)": (s) => `{ apiKeys { createdBy { __typename ${s} } } }`,
  },
  Message: { "a conversation's messages": (s) => `{ conversations(first: 10) { edges { node { messages(first: 5) { edges { node { __typename ${s} } } } } } } }` },
  ConversationActivity: {
    "a conversation's activity": (s) => `{ conversations(first: 10) { edges { node { activity(first: 5) { edges { node { __typename ${s} } } } } } } }`,
  },
};

describe("column pruning", () => {
  describe.each(Object.keys(PATHS))("%s", (typeName) => {
    const fields = fieldsOf(typeName);

    it.each(Object.entries(PATHS[typeName]!))("through %s, every field asked for alone is what it is with all the others", async (_via, path) => {
      const everything = collect(dataOf(await t.gql(path(fields.map((f) => f.selection).join(" ")))), typeName);
      expect(everything.size).toBeGreaterThan(0);
      for (const field of fields) {
        const alone = collect(dataOf(await t.gql(path(`id ${field.selection}`))), typeName);
        expect([...alone.keys()].sort(), field.name).toEqual([...everything.keys()].sort());
        for (const [id, record] of alone) expect(record[field.name], `${typeName}.${field.name} of ${id}`).toEqual(everything.get(id)![field.name]);
      }
    });
  });

  it("compares more than ids: the Contact path reads names, the Message path bodies", () => {
    expect(fieldsOf("Contact").map((f) => f.name)).toEqual(expect.arrayContaining(["fullName", "firstName", "email", "metadata"]));
    expect(fieldsOf("Message").map((f) => f.name)).toEqual(expect.arrayContaining(["body", "conversation", "sender"]));
  });

  it("an inbox page reads the columns its fields show and nothing else: every column costs the gateway per row", async () => {
    const query = `{ conversations(first: 5) { edges { node { subject contact { fullName } assignedTo { name } } } } }`;
    const { result, statements } = await t.db.sql.record(() => t.gql(query));
    dataOf(result);
    expect(statements).toHaveLength(1);
    const selectList = /^\s*(?:\/\* prepared \*\/ )?SELECT (.*?) FROM "Conversation" t\b/s.exec(statements[0]!.sql)![1]!;
    // Each item is t."column" or an expression AS "name" (the cursor's sort key, the joined columns).
    const columns = [...selectList.matchAll(/(?<=^|, )t\."(\w+)"(?=, |$)| AS "([^"]+)"(?=, |$)/g)].map((m) => m[1] ?? m[2]).sort();
    expect(columns).toEqual(
      ["assignedToId", "contactId", "id", "sortKey", "subject", "contact.firstName", "contact.fullName", "contact.id", "contact.lastName", "assignedTo.id", "assignedTo.name"].sort(),
    );
  });
});
