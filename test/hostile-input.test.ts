import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/gateway.js";
import { sha256 } from "../src/graphql/operations.js";
import { dataOf, startTestGateway, testConfig, type TestGateway } from "./helpers.js";
import { wsClient } from "./live.js";

// Every request here goes through a real HTTP server on a free port, as a client's would.
let t: TestGateway;
let url: URL;
let token: string;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 10, conversations: 20 } });
  url = await t.gateway.listen(0, "127.0.0.1");
  token = await t.token();
});
const extra: Gateway[] = [];
afterAll(async () => {
  for (const gateway of extra) await gateway.close();
  await t?.close();
});

/** A second gateway on the same database with other settings, on its own port. */
async function gatewayWith(overrides: Record<string, string>): Promise<URL> {
  const gateway = await createGateway(testConfig(overrides), { db: t.db });
  extra.push(gateway);
  return gateway.listen(0, "127.0.0.1");
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function send(init: RequestInit & { path?: string }, target: URL = url): Promise<Answer> {
  const method = init.method ?? "POST";
  const response = await fetch(new URL(init.path ?? target.pathname, target), {
    ...init,
    method,
    headers: {
      authorization: `Bearer ${token}`,
      // What GraphQL-over-HTTP clients (GraphiQL among them) ask for: a refused document is a 400.
      accept: "application/graphql-response+json, application/json;q=0.9",
      ...(method === "POST" ? { "content-type": "application/json" } : {}),
      ...(init.headers as Record<string, string>),
    },
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const post = (body: unknown, target?: URL) => send({ body: JSON.stringify(body) }, target);
const COUNT_BY_FILTER = "query($f: ConversationFilter) { conversations(filter: $f) { totalCount } }";

/** Every row the gateway could have written, in a stable order. */
async function snapshot(): Promise<string> {
  const p = t.db.prisma;
  const byId = { orderBy: { id: "asc" as const } };
  return JSON.stringify(
    await Promise.all([
      p.workspace.findMany(byId),
      p.agent.findMany(byId),
      p.contact.findMany(byId),
      p.conversation.findMany(byId),
      p.message.findMany(byId),
      p.conversationActivity.findMany(byId),
    ]),
  );
}

/** A normal request right after: the server still answers, correctly. */
async function expectStillServing() {
  const answer = await post({ query: "{ viewer { id } conversationCounts { open } }" });
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json.errors).toBeUndefined();
  expect(answer.json.data.viewer.id).toMatch(/^agt_/);
}

/**
 * Sends a hostile request and checks the whole story: a 4xx with one GraphQL error carrying the
 * contract code and a message saying what was wrong, no row changed, the next request answered.
 */
async function expectRefused(request: () => Promise<Answer>, expected: { status: number; code: string; message: RegExp }) {
  const before = await snapshot();
  const answer = await request();
  expect(answer.status, answer.text.slice(0, 500)).toBe(expected.status);
  expect(answer.json?.errors?.length, answer.text.slice(0, 500)).toBeGreaterThan(0);
  for (const each of answer.json.errors) expect(each.extensions.code).toBe(expected.code);
  const error = answer.json.errors.find((each: { message: string }) => expected.message.test(each.message));
  expect(error, answer.text.slice(0, 500)).toBeDefined();
  // Refused before execution (no data), or a mutation field that failed (null).
  for (const value of Object.values(answer.json.data ?? {})) expect(value).toBeNull();
  expect(await snapshot()).toBe(before);
  await expectStillServing();
  return error;
}

const conversationId = async () => (await t.db.prisma.conversation.findFirstOrThrow({ orderBy: { id: "asc" } })).id;
const CREATE_CONTACT = `mutation($input: CreateContactInput!) { createContact(input: $input) { id firstName lastName } }`;

describe("documents beyond the limits", () => {
  it("refuses 50 levels of nesting (depth limit 10)", async () => {
    let selection = "id";
    for (let level = 0; level < 12; level++) selection = `contact { conversations(first: 1) { edges { node { ${selection} } } } }`;
    const query = `{ conversations(first: 1) { edges { node { ${selection} } } } }`;
    expect(query.split("{").length - 1).toBeGreaterThanOrEqual(50);
    await expectRefused(() => post({ query }), { status: 400, code: "BAD_USER_INPUT", message: /^Query depth limit of 10 exceeded, found \d+\.$/ });
    // A client that asks only for application/json gets 200, as the GraphQL-over-HTTP spec says.
    await expectRefused(() => send({ body: JSON.stringify({ query }), headers: { accept: "application/json" } }), {
      status: 200,
      code: "BAD_USER_INPUT",
      message: /^Query depth limit of 10 exceeded/,
    });
  });

  it("refuses a document whose overlapping selections are too costly to compare, saying so", async () => {
    await expectRefused(() => post({ query: `{ viewer { ${"id ".repeat(1500)}} }` }), {
      status: 400,
      code: "BAD_USER_INPUT",
      message: /^The document is too complex to validate/,
    });
  });

  it("refuses 1,000 aliases, and already 16 (alias limit 15)", async () => {
    // __typename is exempt from the alias limit (clients alias it freely), so these alias a real field.
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { id }`).join(" ")} }`;
    await expectRefused(() => post({ query: aliases(1000) }), { status: 400, code: "BAD_USER_INPUT", message: /token limit of 2000 exceeded/i });
    await expectRefused(() => post({ query: aliases(16) }), { status: 400, code: "BAD_USER_INPUT", message: /aliases limit of 15 exceeded/i });
    expect(dataOf(await t.gql(aliases(15))).a14.id).toMatch(/^agt_/);
  });

  it("refuses a document of more than 2,000 tokens, too many directives, and one that costs too much", async () => {
    const fields = Array.from({ length: 2100 }, () => "__typename").join(" ");
    await expectRefused(() => post({ query: `{ ${fields} }` }), { status: 400, code: "BAD_USER_INPUT", message: /token limit of 2000 exceeded/i });
    const directives = Array.from({ length: 11 }, () => "@include(if: true)").join(" ");
    await expectRefused(() => post({ query: `{ __typename ${directives} }` }), { status: 400, code: "BAD_USER_INPUT", message: /directives limit of 10 exceeded/i });
    const wide = `conversations(first: 100) { edges { node { contact { conversations(first: 100) { edges { node { id subject status labels tags } } } } } } }`;
    await expectRefused(() => post({ query: `{ ${wide} }` }), { status: 400, code: "BAD_USER_INPUT", message: /cost limit of 100000 exceeded/i });
  });

  const nested = (size: string) =>
    `contacts${size} { edges { node { conversations${size} { edges { node { messages${size} { edges { node { body } } } activity${size} { edges { node { type } } } } } } } } }`;
  const tooCostly = { status: 400, code: "BAD_USER_INPUT", message: /^Query Cost limit of 100000 exceeded, found \d+/ };

  it("costs lists by the page sizes their variables give, as if written in the document", async () => {
    const literal = await expectRefused(() => post({ query: `{ ${nested("(first: 100)")} }` }), tooCostly);
    const variables = `query Q($n: Int) { ${nested("(first: $n)")} }`;
    expect((await expectRefused(() => post({ query: variables, variables: { n: 100 } }), tooCostly)).message).toBe(literal.message);
    // A variable's default value is the value used.
    expect((await expectRefused(() => post({ query: variables.replace("$n: Int", "$n: Int = 100") }), tooCostly)).message).toBe(literal.message);
    // Small pages of the same document run.
    expect(dataOf(await t.gql(variables, { n: 2 })).contacts.edges).toHaveLength(2);
  });

  it("costs a list without first as the default page of 20", async () => {
    const twenty = await expectRefused(() => post({ query: `{ ${nested("(first: 20)")} }` }), tooCostly);
    expect((await expectRefused(() => post({ query: `{ ${nested("")} }` }), tooCostly)).message).toBe(twenty.message);
  });

  it("costs a persisted document by its variables too", async () => {
    const query = `query Costly($n: Int) { contacts(first: $n) { edges { node { conversations(first: $n) { edges { node { messages(first: $n) { edges { node { body } } } } } } } } } }`;
    const persisted = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    expect((await post({ query, variables: { n: 1 }, extensions: persisted })).json.errors).toBeUndefined();
    await expectRefused(() => post({ variables: { n: 100 }, extensions: persisted }), { status: 400, code: "BAD_USER_INPUT", message: /cost limit of 100000 exceeded/i });
  });

  it("refuses an unknown operation name", async () => {
    await expectRefused(() => post({ query: "query Inbox { viewer { id } }", operationName: "DropEverything" }), {
      status: 400,
      code: "BAD_USER_INPUT",
      message: /Unknown operation named "DropEverything"/,
    });
  });

  it("refuses a batched array of 1,000 operations: batching is off", async () => {
    const batch = Array.from({ length: 1000 }, () => ({ query: "{ viewer { id } }" }));
    await expectRefused(() => post(batch), { status: 400, code: "BAD_USER_INPUT", message: /Batching is not supported/ });
  });
});

describe("bodies beyond the limits", () => {
  const TEN_MB = 10 * 1024 * 1024;

  // Closing the connection after a 413 spares reading the rest of the body to keep it open: a
  // client that stops sending would otherwise hold it, and a shutdown waiting for it, until it timed out.
  it("refuses a 10 MB body with 413, by its content-length, and closes the connection", async () => {
    const body = JSON.stringify({ query: "{ viewer { id } }", variables: { padding: "x".repeat(TEN_MB) } });
    let answer: Answer | undefined;
    await expectRefused(async () => (answer = await send({ body })), { status: 413, code: "BAD_USER_INPUT", message: /Request body too large/ });
    expect(answer!.headers.get("connection")).toBe("close");
  });

  it("refuses a 10 MB chunked body without content-length, counting while reading, and closes the connection", async () => {
    let sent = 0;
    const chunk = new TextEncoder().encode(`${"x".repeat(64 * 1024 - 1)},`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"query":"{ viewer { id } }","variables":{"padding":['));
      },
      pull(controller) {
        if (sent >= TEN_MB) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    let answer: Answer | undefined;
    await expectRefused(async () => (answer = await send({ body: stream, duplex: "half" } as RequestInit)), {
      status: 413,
      code: "BAD_USER_INPUT",
      message: /Request body too large/,
    });
    expect(answer!.headers.get("connection")).toBe("close");
  });

  it("serves a chunked body without content-length within the limit, put back together whole", async () => {
    // 7-byte chunks: most of the two-byte characters are split between two of them.
    const bytes = new TextEncoder().encode(JSON.stringify({ query: "{ viewer { id } }", variables: { pad: "é".repeat(20_000) } }));
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, (at += 7)));
      },
    });
    const answer = await send({ body: stream, duplex: "half" } as RequestInit);
    expect(answer.status).toBe(200);
    expect(answer.json.data.viewer.id).toMatch(/^agt_/);
  });

  it("refuses huge variables (over the body limit), and a 50,000-character message body (over the field's own limit)", async () => {
    const id = await conversationId();
    const send_ = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }`;
    await expectRefused(() => post({ query: send_, variables: { input: { conversationId: id, body: "x".repeat(200_000) } } }), {
      status: 413,
      code: "BAD_USER_INPUT",
      message: /Request body too large/,
    });
    const error = await expectRefused(() => post({ query: send_, variables: { input: { conversationId: id, body: "x".repeat(50_000) } } }), {
      status: 200,
      code: "BAD_USER_INPUT",
      message: /at most 10000 characters/,
    });
    expect(error.extensions.field).toBe("input.body");
  });

  it("refuses malformed JSON", async () => {
    await expectRefused(() => send({ body: '{"query": "{ viewer { id } }", ' }), { status: 400, code: "BAD_USER_INPUT", message: /invalid JSON/ });
    await expectRefused(() => send({ body: "[1, 2" }), { status: 400, code: "BAD_USER_INPUT", message: /invalid JSON/ });
    await expectRefused(() => send({ body: "42" }), { status: 400, code: "BAD_USER_INPUT", message: /expected to be object/ });
  });

  it("refuses a wrong content type", async () => {
    const body = JSON.stringify({ query: "{ viewer { id } }" });
    await expectRefused(() => send({ body, headers: { "content-type": "application/xml" } }), {
      status: 415,
      code: "BAD_USER_INPUT",
      message: /Unsupported content type "application\/xml"/,
    });
    for (const csrf of [{}, { "graphql-yoga-csrf": "1" }] as Record<string, string>[]) {
      await expectRefused(() => send({ body, headers: { "content-type": "text/plain", ...csrf } }), { status: 415, code: "BAD_USER_INPUT", message: /Unsupported content type "text\/plain"/ });
    }
    // The document itself as the body: a type a browser sends cross-site only after a preflight.
    const plain = await send({ body: "{ viewer { id } }", headers: { "content-type": "application/graphql" } });
    expect(plain.json.data.viewer.id).toMatch(/^agt_/);
    // A form post is what a cross-site HTML form can send without a preflight: the CSRF check refuses it.
    const form = new URLSearchParams({ query: "{ viewer { id } }" }).toString();
    await expectRefused(() => send({ body: form, headers: { "content-type": "application/x-www-form-urlencoded" } }), { status: 403, code: "FORBIDDEN", message: /CSRF/ });
  });

  it("lets only the pages of CORS_ORIGINS read its answers: none by default", async () => {
    const evil = { origin: "https://evil.example" };
    const query = JSON.stringify({ query: "{ viewer { id } }" });
    const preflight = (target: URL, origin: string) =>
      send({ method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } }, target);
    // Not the GraphiQL page (which carries the development admin token), not an answer, not a preflight.
    for (const answer of [
      await send({ method: "GET", headers: { ...evil, accept: "text/html" } }),
      await send({ body: query, headers: evil }),
      await preflight(url, evil.origin),
    ]) {
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
    }

    const dashboard = "https://dash.example.test";
    const listed = await gatewayWith({ CORS_ORIGINS: `${dashboard},http://localhost:5173` });
    const allowed = await preflight(listed, dashboard);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(dashboard);
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const answer = await send({ body: query, headers: { origin: dashboard } }, listed);
    expect(answer.json.data.viewer.id).toBeTruthy();
    expect(answer.headers.get("access-control-allow-origin")).toBe(dashboard);
    expect(answer.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
    // Tokens travel in a header, never in cookies: no credentials mode for anyone.
    expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
    expect((await send({ body: query, headers: evil }, listed)).headers.get("access-control-allow-origin")).not.toBe(evil.origin);
  });

  it("refuses a body that is not valid UTF-8 instead of storing replacement characters", async () => {
    const bytes = Buffer.concat([
      Buffer.from(JSON.stringify({ query: CREATE_CONTACT, variables: { input: { firstName: "MARKER", email: "utf8@example.com" } } }).split("MARKER")[0]),
      Buffer.from([0x4a, 0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from(JSON.stringify({ query: CREATE_CONTACT, variables: { input: { firstName: "MARKER", email: "utf8@example.com" } } }).split("MARKER")[1]),
    ]);
    await expectRefused(() => send({ body: bytes }), { status: 400, code: "BAD_USER_INPUT", message: /not valid UTF-8/ });
    await expectRefused(() => send({ method: "GET", path: `${url.pathname}?query=%7B%20viewer%20%7B%20id%20%7D%20%7D%FF`, headers: { "graphql-yoga-csrf": "1" } }), {
      status: 400,
      code: "BAD_USER_INPUT",
      message: /not valid percent-encoded UTF-8/,
    });
  });

  it("refuses NUL characters and unpaired surrogates before they reach the database", async () => {
    for (const firstName of ["Ann\u0000e", "Ann\uD800e", "\uDC00"]) {
      const error = await expectRefused(() => post({ query: CREATE_CONTACT, variables: { input: { firstName, email: "nul@example.com" } } }), {
        status: 400,
        code: "BAD_USER_INPUT",
        message: /NUL character or an unpaired UTF-16 surrogate/,
      });
      expect(error.extensions.field).toBe("input.firstName");
    }
    await expectRefused(() => post({ query: CREATE_CONTACT, variables: { input: { email: "nul@example.com", metadata: { "k\u0000": 1 } } } }), {
      status: 400,
      code: "BAD_USER_INPUT",
      message: /NUL character/,
    });
    await expectRefused(() => post({ query: 'mutation { createContact(input: { firstName: "Ann\\u0000e" }) { id } }' }), {
      status: 400,
      code: "BAD_USER_INPUT",
      message: /string literal contains a NUL character/,
    });
    // A well-formed surrogate pair (an emoji) is ordinary text.
    const created = dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: "Ann 😀", email: "emoji@example.com" } }));
    expect(created.createContact.firstName).toBe("Ann 😀");
  });

  it("refuses a label of 10,000 characters", async () => {
    const id = await conversationId();
    const error = await expectRefused(
      () => post({ query: `mutation($id: ID!, $labels: [String!]!) { addConversationLabels(id: $id, labels: $labels) { id labels } }`, variables: { id, labels: ["l".repeat(10_000)] } }),
      { status: 200, code: "BAD_USER_INPUT", message: /label/i },
    );
    expect(error.message.length).toBeLessThan(300);
  });
});

describe("search terms", () => {
  it("refuses one longer than 200 characters in every list and count that takes one, naming filter.search; 200 characters are searched", async () => {
    const query = `query($c: ConversationFilter, $k: ContactFilter) {
      conversations(filter: $c) { totalCount } conversationCounts(filter: $c) { total } contacts(filter: $k) { totalCount } }`;
    const long = "é".repeat(201);
    for (const variables of [{ c: { search: long } }, { k: { search: ` ${long} ` } }]) {
      const answer = await post({ query, variables });
      expect(answer.json.data, answer.text.slice(0, 500)).toBeNull();
      for (const error of answer.json.errors) {
        expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.search" });
        expect(error.message).toBe("search is at most 200 characters.");
      }
    }
    // Trimmed first, counted in characters: 200 of them, padded, is a search that finds nothing.
    const longest = dataOf(await t.gql(query, { c: { search: ` ${"é".repeat(200)} ` }, k: { search: "é".repeat(200) } }));
    expect(longest).toEqual({ conversations: { totalCount: 0 }, conversationCounts: { total: 0 }, contacts: { totalCount: 0 } });
  });
});

describe("variables that cannot be coerced", () => {
  it("name the field at fault, down to a missing input field, and are a 400 for application/graphql-response+json (200 for application/json)", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [`query($id: ID!) { conversation(id: $id) { id } }`, { id: null }, "id"],
      [`query($id: ID!) { conversation(id: $id) { id } }`, {}, "id"],
      [`mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`, { input: { contactId: "cnt_0123456789abcdef" } }, "input.channel"],
      [`mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`, { input: { contactId: "cnt_0123456789abcdef", channel: "SMS", colour: "red" } }, "input.colour"],
    ];
    for (const [query, variables, field] of cases) {
      const error = await expectRefused(() => post({ query, variables }), { status: 400, code: "BAD_USER_INPUT", message: /^Variable "\$/ });
      expect(error.extensions.field, JSON.stringify(variables)).toBe(field);
      const legacy = await send({ body: JSON.stringify({ query, variables }), headers: { accept: "application/json" } });
      expect(legacy.status).toBe(200);
      expect(legacy.json.errors[0].extensions).toEqual({ code: "BAD_USER_INPUT", field });
    }
  });
});

describe("values PostgreSQL cannot hold are the client's error, refused before SQL", () => {
  it("a DateTime outside years 1 to 9999, as a variable or written into the document", async () => {
    // graphql-scalars takes year 0 (and refuses expanded years itself).
    for (const d of ["0000-01-01T00:00:00Z", "0000-06-30T12:00:00+02:00"]) {
      await expectRefused(() => post({ query: `query($d: DateTime) { conversations(filter: { updatedAfter: $d }) { totalCount } }`, variables: { d } }), {
        status: 400,
        code: "BAD_USER_INPUT",
        message: /DateTime must fall between the years 0001 and 9999/,
      });
    }
    const id = await conversationId();
    await expectRefused(
      () => post({ query: `mutation { receiveMessage(input: { conversationId: "${id}", externalId: "year-0", body: "hi", sentAt: "0000-01-01T00:00:00Z" }) { id } }` }),
      { status: 400, code: "BAD_USER_INPUT", message: /DateTime must fall between the years 0001 and 9999/ },
    );
    // The first and last storable years are fine.
    for (const d of ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]) {
      expect((await post({ query: `query($d: DateTime) { conversations(filter: { updatedAfter: $d }) { totalCount } }`, variables: { d } })).json.errors).toBeUndefined();
    }
  });

  it("a cursor whose key or id was edited by hand: year 0, an offset beyond 15 hours, a NUL in the id", async () => {
    const page = dataOf(await t.gql(`{ conversations(first: 1) { pageInfo { endCursor } } }`));
    const [name, key, id] = JSON.parse(Buffer.from(page.conversations.pageInfo.endCursor, "base64url").toString()) as [string, string, string];
    expect((await post({ query: `query($c: String) { conversations(first: 1, after: $c) { totalCount } }`, variables: { c: page.conversations.pageInfo.endCursor } })).json.errors).toBeUndefined();
    const forged = [
      [name, key.replace(/^\d{4}/, "0000"), id],
      [name, key.replace(/[+-]\d{2}(:\d{2})*$/, "+99"), id],
      [name, key, `${id}\u0000`],
    ];
    for (const cursor of forged) {
      const c = Buffer.from(JSON.stringify(cursor)).toString("base64url");
      await expectRefused(() => post({ query: `query($c: String) { conversations(first: 1, after: $c) { totalCount } }`, variables: { c } }), {
        status: 200,
        code: "BAD_USER_INPUT",
        message: /"after" is not a cursor this API issued/,
      });
    }
  });

  it("contact metadata nested deeper than 32 levels", async () => {
    const nested = (depth: number): Record<string, unknown> => {
      let value: Record<string, unknown> = { leaf: 1 };
      for (let i = 1; i < depth; i++) value = { x: i % 2 ? [value] : value };
      return value;
    };
    const error = await expectRefused(() => post({ query: CREATE_CONTACT, variables: { input: { firstName: "Deep", metadata: nested(500) } } }), {
      status: 200,
      code: "BAD_USER_INPUT",
      message: /metadata may nest at most 32 levels/,
    });
    expect(error.extensions.field).toBe("input.metadata");
    expect(dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: "Deep enough", metadata: nested(16) } })).createContact.firstName).toBe("Deep enough");
  });

  it("contact metadata larger than 16 KB as JSON, on create and update, changing nothing", async () => {
    // {"notes":"…"} is 12 bytes around the text; "é" is 2 bytes of UTF-8.
    const sized = (bytes: number) => ({ notes: "é".repeat((bytes - 12) / 2) });
    expect(Buffer.byteLength(JSON.stringify(sized(16_384)))).toBe(16_384);
    const created = dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: "Sized", metadata: sized(16_384) } })).createContact;
    const tooLarge = { id: created.id, input: { metadata: sized(16_386) } };
    const error = await expectRefused(
      () => post({ query: `mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id } }`, variables: tooLarge }),
      { status: 200, code: "BAD_USER_INPUT", message: /metadata may hold at most 16,384 bytes as JSON; this is 16,386/ },
    );
    expect(error.extensions.field).toBe("input.metadata");
    await expectRefused(() => post({ query: CREATE_CONTACT, variables: { input: { firstName: "Too large", metadata: sized(16_386) } } }), {
      status: 200,
      code: "BAD_USER_INPUT",
      message: /at most 16,384 bytes/,
    });
    const stored = await t.db.prisma.contact.findUniqueOrThrow({ where: { id: created.id } });
    expect(stored.metadata).toEqual(sized(16_384));
    expect(await t.db.prisma.contact.count({ where: { firstName: "Too large" } })).toBe(0);
  });
});

describe("strings that look like code are data", () => {
  const SQL = `Robert'); DROP TABLE "Contact"; -- ' OR '1'='1`;
  const SCRIPT = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

  it("stores SQL- and script-looking text verbatim and returns it verbatim as JSON", async () => {
    const counts = async () => [await t.db.prisma.contact.count(), await t.db.prisma.conversation.count(), await t.db.prisma.message.count()];
    const [contacts, conversations, messages] = await counts();
    const contact = dataOf(await t.gql(CREATE_CONTACT, { input: { firstName: SQL, lastName: SCRIPT, metadata: { note: `${SQL} ${SCRIPT}` } } })).createContact;
    expect(contact).toMatchObject({ firstName: SQL, lastName: SCRIPT });
    const conversation = dataOf(
      await t.gql(`mutation($input: CreateConversationInput!) { createConversation(input: $input) { id subject } }`, {
        input: { contactId: contact.id, channel: "EMAIL", subject: SCRIPT },
      }),
    ).createConversation;
    dataOf(await t.gql(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }`, { input: { conversationId: conversation.id, body: `${SQL}\n${SCRIPT}` } }));

    // Read back over HTTP: the same characters, served as JSON (nothing a browser would render).
    const answer = await post({
      query: `query($id: ID!, $c: ID!) { contact(id: $id) { firstName lastName metadata }
        conversation(id: $c) { subject lastMessagePreview messages(first: 1) { edges { node { body } } } } }`,
      variables: { id: contact.id, c: conversation.id },
    });
    expect(answer.headers.get("content-type")).toMatch(/^application\/(graphql-response\+)?json/);
    expect(answer.json.errors).toBeUndefined();
    expect(answer.json.data.contact).toEqual({ firstName: SQL, lastName: SCRIPT, metadata: { note: `${SQL} ${SCRIPT}` } });
    expect(answer.json.data.conversation.subject).toBe(SCRIPT);
    expect(answer.json.data.conversation.messages.edges[0].node.body).toBe(`${SQL}\n${SCRIPT}`);
    // Nothing was executed: every other row is still there, exactly one of each was added.
    expect(await counts()).toEqual([contacts + 1, conversations + 1, messages + 1]);
    const stored = await t.db.prisma.contact.findUniqueOrThrow({ where: { id: contact.id } });
    expect([stored.firstName, stored.lastName]).toEqual([SQL, SCRIPT]);

    // As a search term it is matched literally: it finds the one contact, not every row.
    const found = dataOf(await t.gql(`query($s: String!) { contacts(first: 100, filter: { search: $s }) { totalCount } }`, { s: "Robert'); DROP" }));
    expect(found.contacts.totalCount).toBe(1);
    const none = dataOf(await t.gql(`query($s: String!) { contacts(first: 100, filter: { search: $s }) { totalCount } }`, { s: "' OR 1=1 --" }));
    expect(none.contacts.totalCount).toBe(0);
  });
});

describe("browser and configuration switches", () => {
  it("GRAPHQL_BATCH_LIMIT allows arrays up to that size, each entry answered on its own; a longer array is refused", async () => {
    const batching = await gatewayWith({ GRAPHQL_BATCH_LIMIT: "2" });
    const answer = await post([{ query: "{ viewer { id } }" }, { query: "{ conversationz { id } }" }], batching);
    expect(answer.status).toBe(200);
    expect(answer.json).toHaveLength(2);
    expect(answer.json[0].data.viewer.id).toMatch(/^agt_/);
    expect(answer.json[1].errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(["BAD_USER_INPUT"]);
    await expectRefused(() => post([1, 2, 3].map(() => ({ query: "{ viewer { id } }" })), batching), { status: 413, code: "BAD_USER_INPUT", message: /Batching is limited to 2 operations per request/ });
  });

  it("the limits are configurable: a lower depth limit and body size apply as set", async () => {
    const strict = await gatewayWith({ GRAPHQL_MAX_DEPTH: "3", MAX_REQUEST_BODY_BYTES: "2048" });
    const deep = "{ conversations(first: 1) { edges { node { contact { id } } } } }";
    expect((await post({ query: deep })).json.data.conversations.edges).toHaveLength(1);
    await expectRefused(() => post({ query: deep }, strict), { status: 400, code: "BAD_USER_INPUT", message: /depth limit of 3 exceeded/i });
    const padded = { query: "{ viewer { id } }", variables: { pad: "x".repeat(3_000) } };
    expect((await post(padded)).json.data.viewer.id).toMatch(/^agt_/);
    await expectRefused(() => post(padded, strict), { status: 413, code: "BAD_USER_INPUT", message: /Request body too large/ });
  });

  it("/ready answers 503 while a migration is pending, and 200 again once it is applied", async () => {
    const [latest] = await t.db.withSession((s) => s.query<{ migration_name: string; checksum: string }>(`SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1`));
    expect((await t.gateway.fetch("/ready")).status).toBe(200);
    // As if a newer release's migration had not run: its recorded checksum no longer matches the file.
    await t.db.withSession((s) => s.query(`UPDATE "_prisma_migrations" SET checksum = 'pending' WHERE migration_name = $1`, [latest!.migration_name]));
    try {
      expect((await t.gateway.fetch("/ready")).status).toBe(503);
      expect((await t.gateway.fetch("/health")).status).toBe(200);
    } finally {
      await t.db.withSession((s) => s.query(`UPDATE "_prisma_migrations" SET checksum = $1 WHERE migration_name = $2`, [latest!.checksum, latest!.migration_name]));
    }
    expect((await t.gateway.fetch("/ready")).status).toBe(200);
  });

  it("CSRF: a GET needs a non-simple header; JSON POSTs and GraphiQL's page pass", async () => {
    const query = `${url.pathname}?query=${encodeURIComponent("{ viewer { id } }")}`;
    await expectRefused(() => send({ method: "GET", path: query }), { status: 403, code: "FORBIDDEN", message: /Required CSRF header/ });
    for (const header of ["graphql-yoga-csrf", "x-graphql-yoga-csrf"]) {
      const ok = await send({ method: "GET", path: query, headers: { [header]: "1" } });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.json.data.viewer.id).toMatch(/^agt_/);
    }
    const page = await fetch(url, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
  });

  it("introspection answers by default outside production and can be turned off", async () => {
    const introspection = { query: "{ __schema { queryType { name } } }" };
    expect((await post(introspection)).json.data.__schema.queryType.name).toBe("Query");
    const closed = await gatewayWith({ GRAPHQL_INTROSPECTION: "off" });
    await expectRefused(() => post(introspection, closed), { status: 400, code: "BAD_USER_INPUT", message: /introspection has been disabled/ });
    expect((await post({ query: "{ viewer { id } }" }, closed)).json.data.viewer.id).toMatch(/^agt_/);
  });

  // Typos of a field, an enum value in the document, and an enum value and an input field in variables.
  const TYPOS = [
    { body: { query: "{ viewr { id } }" }, says: /Cannot query field "viewr"/, hides: "viewer" },
    { body: { query: "{ conversations(filter: { status: [OPN] }) { totalCount } }" }, says: /Value "OPN" does not exist/, hides: "OPEN" },
    { body: { query: COUNT_BY_FILTER, variables: { f: { status: ["OPN"] } } }, says: /Value "OPN" does not exist/, hides: "OPEN" },
    { body: { query: COUNT_BY_FILTER, variables: { f: { statu: ["OPEN"] } } }, says: /Field "statu" is not defined/, hides: '"status"' },
  ];

  it("suggestions are given where introspection is on and withheld where it is off (production), in every refusal", async () => {
    const production = await gatewayWith({ NODE_ENV: "production" });
    for (const { body, says, hides } of TYPOS) {
      const development = (await post(body)).json.errors[0];
      expect(development.message).toMatch(says);
      expect(development.message).toMatch(/Did you mean/);
      const error = (await post(body, production)).json.errors[0];
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
      expect(error.message).toMatch(says);
      expect(error.message).not.toContain(hides);
      expect(error.message).not.toMatch(/Did you mean/);
    }
  });

  it("suggestions are withheld over graphql-ws too where introspection is off", async () => {
    const closed = await gatewayWith({ GRAPHQL_INTROSPECTION: "off" });
    const ws = wsClient(closed, token);
    try {
      for (const { body, says, hides } of TYPOS) {
        const errors = await (async () => {
          for await (const frame of ws.iterate(body)) return frame.errors;
        })().catch((refused: unknown) => refused as { message: string }[]);
        expect(errors?.[0]?.message).toMatch(says);
        expect(errors?.[0]?.message).not.toContain(hides);
      }
    } finally {
      await ws.dispose();
    }
  });

  it("rate limiting counts each API key on its own, apart from the agent who made it", async () => {
    const limited = await gatewayWith({ RATE_LIMIT_MAX: "2", RATE_LIMIT_WINDOW_MS: "3600000" });
    const newKey = async (name: string) =>
      dataOf<{ createApiKey: { secret: string } }>(await t.gql(`mutation($n: String!) { createApiKey(name: $n) { secret } }`, { n: name })).createApiKey.secret;
    const [first, second] = [await newKey("limited one"), await newKey("limited two")];
    const asKey = (key: string) => send({ body: JSON.stringify({ query: "{ labels { name } }" }), headers: { authorization: `Bearer ${key}` } }, limited);
    for (let i = 0; i < 2; i++) expect((await asKey(first)).status).toBe(200);
    const refused = await asKey(first);
    expect(refused.status).toBe(429);
    expect(refused.json.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect((await asKey(second)).status).toBe(200);
    expect((await post({ query: "{ viewer { id } }" }, limited)).status).toBe(200);
  });

  it("rate limiting (off by default outside production) refuses a caller beyond the limit with RATE_LIMITED and 429", async () => {
    const limited = await gatewayWith({ RATE_LIMIT_MAX: "3", RATE_LIMIT_WINDOW_MS: "3600000" });
    const viewer = { query: "{ viewer { id } }" };
    for (let i = 0; i < 3; i++) expect((await post(viewer, limited)).json.data.viewer.id).toMatch(/^agt_/);
    const before = await snapshot();
    const refused = await post({ query: CREATE_CONTACT, variables: { input: { firstName: "Late" } } }, limited);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.json.errors[0].extensions).toEqual({ code: "RATE_LIMITED", retryAfter: Number(refused.headers.get("retry-after")) });
    expect(refused.json.errors[0].message).toMatch(/at most 3 operations per 3600 s/);
    expect(await snapshot()).toBe(before);
    // Per caller: another agent's token still gets through, and the default gateway is unlimited.
    const other = await t.token("VIEWER");
    const answer = await send({ body: JSON.stringify(viewer), headers: { authorization: `Bearer ${other}` } }, limited);
    expect(answer.json.data.viewer.id).toMatch(/^agt_/);
    await expectStillServing();
  });
});

describe("the same input rules over graphql-ws", () => {
  it("refuses NUL characters and unpaired surrogates in variables with the field at fault, writing nothing", async () => {
    const ws = wsClient(url, token);
    try {
      for (const firstName of ["Ann\u0000e", "Ann\uD800e"]) {
        const before = await snapshot();
        const refused = await (async () => {
          for await (const frame of ws.iterate({ query: CREATE_CONTACT, variables: { input: { firstName, email: "ws-nul@example.com" } } })) return frame;
        })().catch((errors: unknown) => ({ errors }));
        const errors = (refused as { errors?: { message: string; extensions?: { code?: string; field?: string } }[] })?.errors;
        expect(errors?.map((e) => e.extensions)).toEqual([{ code: "BAD_USER_INPUT", field: "input.firstName" }]);
        expect(errors?.[0]?.message).toMatch(/NUL character or an unpaired UTF-16 surrogate/);
        expect(await snapshot()).toBe(before);
      }
    } finally {
      await ws.dispose();
    }
  });

  it("refuses an operation whose variables make it cost too much, as over HTTP", async () => {
    const ws = wsClient(url, token);
    const first = async (payload: { query: string; variables?: Record<string, unknown> }) => {
      for await (const frame of ws.iterate(payload)) return frame;
    };
    try {
      const query = `query Q($n: Int) { contacts(first: $n) { edges { node { conversations(first: $n) { edges { node { messages(first: $n) { edges { node { body } } } activity(first: $n) { edges { node { type } } } } } } } } } }`;
      const refused = await first({ query, variables: { n: 100 } });
      expect(refused?.data ?? null).toBeNull();
      expect(refused?.errors?.map((e) => e.extensions)).toEqual([{ code: "BAD_USER_INPUT" }]);
      expect(refused?.errors?.[0]?.message).toMatch(/^Query Cost limit of 100000 exceeded, found \d+/);
      expect((await first({ query, variables: { n: 1 } }))?.errors).toBeUndefined();
    } finally {
      await ws.dispose();
    }
  });

  it("closes a socket whose message is larger than MAX_REQUEST_BODY_BYTES (1009, message too big)", async () => {
    let closedWith: number | undefined;
    const ws = wsClient(url, token, { onClosed: (event) => (closedWith = (event as { code: number }).code) });
    try {
      const before = await snapshot();
      const body = "x".repeat(200 * 1024);
      const outcome = await (async () => {
        for await (const frame of ws.iterate({ query: CREATE_CONTACT, variables: { input: { firstName: body, email: "ws-big@example.com" } } })) return frame;
      })().catch((error: unknown) => error);
      expect(outcome).toBeDefined();
      expect(closedWith).toBe(1009);
      expect(await snapshot()).toBe(before);
    } finally {
      await ws.dispose();
    }
  });

  it("counts subscriptions toward the rate limit, and a refusal on the socket says when to retry, without HTTP's internals", async () => {
    const limited = await gatewayWith({ RATE_LIMIT_MAX: "2", RATE_LIMIT_WINDOW_MS: "3600000" });
    const ws = wsClient(limited, token);
    const first = async (payload: { query: string }) => {
      for await (const frame of ws.iterate(payload)) return frame;
    };
    try {
      expect((await first({ query: "{ viewer { id } }" }))?.data).toMatchObject({ viewer: { id: expect.stringMatching(/^agt_/) } });
      expect((await first({ query: "subscription { unreadTotals { unreadMessages } }" }))?.data).toMatchObject({ unreadTotals: {} });
      const refused = await first({ query: "{ viewer { id } }" });
      expect(refused?.data ?? null).toBeNull();
      expect(refused?.errors?.map((e) => e.extensions)).toEqual([{ code: "RATE_LIMITED", retryAfter: expect.any(Number) }]);
      expect((refused!.errors![0]!.extensions as { retryAfter: number }).retryAfter).toBeGreaterThan(3500);
    } finally {
      await ws.dispose();
    }
  });
});
