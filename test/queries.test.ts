import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, startTestGateway, type TestGateway } from "./helpers.js";

const INBOX = readFileSync(new URL("../src/graphql/operations/InboxPage.graphql", import.meta.url), "utf8");

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 60, conversations: 260 } });
});
afterAll(() => t?.close());

type Conn = { totalCount?: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: any }[] };

async function allPages(filter: unknown, orderBy: unknown, pageSize: number) {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const { conversations }: { conversations: Conn } = dataOf<{ conversations: Conn }>(
      await t.gql(
        `query($f: ConversationFilter, $o: ConversationOrder, $n: Int, $a: String) {
          conversations(filter: $f, orderBy: $o, first: $n, after: $a) { pageInfo { hasNextPage endCursor } edges { node { id } } }
        }`,
        { f: filter, o: orderBy, n: pageSize, a: after },
      ),
    );
    ids.push(...conversations.edges.map((e) => e.node.id));
    if (!conversations.pageInfo.hasNextPage) return ids;
    after = conversations.pageInfo.endCursor;
  }
}

describe("conversations", () => {
  it("pages the whole inbox by cursor in the documented order, each row once", async () => {
    // Every demo conversation starts with a message: one an agent opened and has not written in
    // yet has no lastMessageAt, and sorts last.
    const contact = await t.db.prisma.contact.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, email: { not: null }, status: "ACTIVE" } });
    dataOf(await t.gql(`mutation($id: ID!) { createConversation(input: { contactId: $id, channel: EMAIL }) { id } }`, { id: contact.id }));
    const rows = await t.db.prisma.conversation.findMany({ where: { workspaceId: t.seed!.workspaceId } });
    const expected = rows
      .sort((a, b) => {
        const ka = a.lastMessageAt?.getTime() ?? -Infinity;
        const kb = b.lastMessageAt?.getTime() ?? -Infinity;
        return kb - ka || (a.id < b.id ? 1 : -1);
      })
      .map((r) => r.id);
    expect(await allPages(null, null, 37)).toEqual(expected);
    expect(rows.some((r) => r.lastMessageAt === null)).toBe(true);
  });

  it("gives 20 rows when first is not set, and says whether more follow", async () => {
    const page = dataOf<any>(await t.gql(`{ conversations { edges { node { id } } pageInfo { hasNextPage } } contacts { edges { node { id } } } }`));
    expect(page.conversations.edges).toHaveLength(20);
    expect(page.conversations.pageInfo.hasNextPage).toBe(true);
    expect(page.contacts.edges).toHaveLength(20);
  });

  it("pages every order field in both directions without gaps or repeats", async () => {
    for (const field of ["LAST_MESSAGE_AT", "CREATED_AT", "UPDATED_AT", "PRIORITY", "UNREAD_COUNT"]) {
      for (const direction of ["ASC", "DESC"]) {
        const ids = await allPages({ status: ["OPEN", "CLOSED"] }, { field, direction }, 23);
        const total = await t.db.prisma.conversation.count({ where: { status: { in: ["OPEN", "CLOSED"] } } });
        expect(new Set(ids).size, `${field} ${direction}`).toBe(total);
        expect(ids.length).toBe(total);
      }
    }
  });

  it("puts conversations without priority last in both directions", async () => {
    for (const direction of ["ASC", "DESC"]) {
      const { conversations } = dataOf<{ conversations: Conn }>(
        await t.gql(`query($o: ConversationOrder) { conversations(first: 100, orderBy: $o) { edges { node { priority } } } }`, {
          o: { field: "PRIORITY", direction },
        }),
      );
      const priorities = conversations.edges.map((e) => e.node.priority);
      const firstNull = priorities.indexOf(null);
      if (firstNull >= 0) expect(priorities.slice(firstNull).every((p) => p === null)).toBe(true);
      const rank = { LOW: 1, MEDIUM: 2, HIGH: 3 } as Record<string, number>;
      const ranks = priorities.filter(Boolean).map((p) => rank[p]);
      expect(ranks).toEqual([...ranks].sort((a, b) => (direction === "ASC" ? a - b : b - a)));
    }
  });

  it("with both after and before, pages only the rows between them, first or last of them (Relay's algorithm)", async () => {
    const order = await allPages(null, null, 100);
    const { conversations } = dataOf<{ conversations: any }>(await t.gql(`{ conversations(first: 12) { edges { cursor } } }`));
    const at = (i: number) => conversations.edges[i].cursor as string;
    const page = async (args: Record<string, unknown>) =>
      dataOf<{ conversations: any }>(
        await t.gql(
          `query($first: Int, $last: Int, $after: String, $before: String) {
            conversations(first: $first, last: $last, after: $after, before: $before) { pageInfo { hasPreviousPage hasNextPage } edges { node { id } } }
          }`,
          args,
        ),
      ).conversations;
    const ids = (connection: any) => connection.edges.map((e: any) => e.node.id);
    // Rows 3 to 6 lie strictly between the cursors of rows 2 and 7.
    const between = await page({ first: 10, after: at(2), before: at(7) });
    expect(ids(between)).toEqual(order.slice(3, 7));
    expect(between.pageInfo).toEqual({ hasPreviousPage: true, hasNextPage: true });
    expect(ids(await page({ first: 2, after: at(2), before: at(7) }))).toEqual(order.slice(3, 5));
    expect(ids(await page({ last: 2, after: at(2), before: at(7) }))).toEqual(order.slice(5, 7));
    expect(ids(await page({ last: 10, after: at(2), before: at(7) }))).toEqual(order.slice(3, 7));
    expect(ids(await page({ after: at(2), before: at(7) }))).toEqual(order.slice(3, 7));
    // One cursor with the other end's count: the first rows before a cursor, the last ones after it.
    expect(ids(await page({ first: 3, before: at(7) }))).toEqual(order.slice(0, 3));
    expect(ids(await page({ last: 3, after: at(2) }))).toEqual(order.slice(-3));
  });

  it("an empty page (first or last 0) still says whether rows lie beyond it", async () => {
    const page = async (args: string, filter: unknown = null) =>
      dataOf<{ conversations: any }>(
        await t.gql(`query($f: ConversationFilter) { conversations(${args}, filter: $f) { edges { cursor } pageInfo { hasNextPage hasPreviousPage } } }`, { f: filter }),
      ).conversations;
    expect(await page("first: 0")).toEqual({ edges: [], pageInfo: { hasNextPage: true, hasPreviousPage: false } });
    expect(await page("last: 0")).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true } });
    expect(await page("first: 0", { search: "no conversation says this" })).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false } });
  });

  it("pages backwards with last/before to the same rows", async () => {
    const forward = await allPages(null, null, 50);
    const { conversations } = dataOf<{ conversations: any }>(
      await t.gql(`{ conversations(first: 30) { edges { cursor node { id } } } }`),
    );
    const cursor = conversations.edges[20].cursor;
    const back = dataOf<{ conversations: any }>(
      await t.gql(`query($b: String) { conversations(last: 5, before: $b) { pageInfo { hasPreviousPage hasNextPage } edges { node { id } } } }`, { b: cursor }),
    ).conversations;
    expect(back.edges.map((e: any) => e.node.id)).toEqual(forward.slice(15, 20));
    expect(back.pageInfo).toEqual({ hasPreviousPage: true, hasNextPage: true });
  });

  it("applies every filter field, combined with AND, and totalCount agrees", async () => {
    const all = await t.db.prisma.conversation.findMany({ include: { contact: true } });
    // What search means: the term in the subject, the preview, or the contact's name, email or phone, whatever the case and accents.
    const folded = (text: string) => text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    const matchesSearch = (term: string) => (c: (typeof all)[number]) => {
      const name = c.contact.fullName ?? `${c.contact.firstName} ${c.contact.lastName ?? ""}`;
      return [c.subject, c.lastMessagePreview, name, c.contact.email, c.contact.phone].some((v) => v != null && folded(v).includes(folded(term)));
    };
    const agent = all.find((c) => c.assignedToId)!.assignedToId!;
    const cases: [unknown, (c: (typeof all)[number]) => boolean][] = [
      [{ status: ["OPEN"] }, (c) => c.status === "OPEN"],
      [{ status: ["CLOSED", "ARCHIVED"], channel: ["EMAIL", "SMS"] }, (c) => c.status !== "OPEN" && ["EMAIL", "SMS"].includes(c.channel)],
      [{ priority: ["HIGH"] }, (c) => c.priority === "HIGH"],
      [{ assignedToId: agent }, (c) => c.assignedToId === agent],
      [{ unassigned: true }, (c) => c.assignedToId === null],
      [{ unassigned: false }, (c) => c.assignedToId !== null],
      [{ labels: ["billing"] }, (c) => c.labels.includes("billing")],
      [{ labels: [" Billing ", "urgent"] }, (c) => c.labels.includes("billing") && c.labels.includes("urgent")],
      [{ contactId: all[0].contactId }, (c) => c.contactId === all[0].contactId],
      [{ hasUnread: true }, (c) => c.unreadCount > 0],
      [{ hasUnread: false, status: ["OPEN"] }, (c) => c.unreadCount === 0 && c.status === "OPEN"],
      [{ search: "REFUND" }, (c) => /refund/i.test(`${c.subject} ${c.lastMessagePreview}`) || /refund/i.test(`${c.contact.firstName} ${c.contact.lastName ?? ""}`)],
      [{ search: all[5].contact.email ?? all[5].contact.firstName }, matchesSearch(all[5].contact.email ?? all[5].contact.firstName)],
      // Terms the trigram indexes cannot serve (no run of three letters or digits) take another form of the statement.
      [{ search: "x" }, matchesSearch("x")],
      [{ search: "re" }, matchesSearch("re")],
      [{ search: "e.c" }, matchesSearch("e.c")],
      [{ search: "100%_" }, () => false],
      // "Any of" an empty list is none, as an inbox whose every status box is unticked shows nothing; "has all" of no labels is every one.
      [{ status: [] }, () => false],
      [{ channel: [], priority: ["HIGH"] }, () => false],
      [{ labels: [] }, () => true],
      [{ updatedAfter: new Date(Date.now() - 5 * 86_400_000).toISOString() }, (c) => c.updatedAt.getTime() > Date.now() - 5 * 86_400_000],
    ];
    for (const [filter, predicate] of cases) {
      const expected = all.filter(predicate).map((c) => c.id).sort();
      const ids = (await allPages(filter, null, 100)).sort();
      expect(ids, JSON.stringify(filter)).toEqual(expected);
      const { conversations } = dataOf<{ conversations: Conn }>(
        await t.gql(`query($f: ConversationFilter) { conversations(filter: $f, first: 1) { totalCount } }`, { f: filter }),
      );
      expect(conversations.totalCount, JSON.stringify(filter)).toBe(expected.length);
    }
  });

  it("serves the GraphiQL example: an inbox page with contacts and assignees", async () => {
    const { conversations } = dataOf<{ conversations: Conn }>(await t.gql(INBOX));
    expect(conversations.edges.length).toBe(20);
    const open = await t.db.prisma.conversation.count({ where: { status: "OPEN" } });
    expect(conversations.totalCount).toBe(open);
    for (const { node } of conversations.edges) {
      expect(node.status).toBe("OPEN");
      expect(node.contact.fullName).toMatch(/\w/);
    }
    expect(conversations.edges.some((e) => e.node.assignedTo?.name)).toBe(true);
  });
});

describe("detail, contacts, agents, labels, node", () => {
  it("shows a conversation with its contact, messages newest first, and activity", async () => {
    const conv = await t.db.prisma.conversation.findFirstOrThrow({ where: { messageCount: { gte: 3 } } });
    const { conversation } = dataOf<{ conversation: any }>(
      await t.gql(
        `query($id: ID!) { conversation(id: $id) { id contact { id } messageCount
          messages(first: 2) { totalCount edges { node { id body createdAt direction } } pageInfo { hasNextPage } }
          activity { edges { node { type } } } } }`,
        { id: conv.id },
      ),
    );
    expect(conversation.contact.id).toBe(conv.contactId);
    expect(conversation.messages.totalCount).toBe(conv.messageCount);
    expect(conversation.messages.edges.length).toBe(2);
    expect(conversation.messages.pageInfo.hasNextPage).toBe(true);
    const [a, b] = conversation.messages.edges.map((e: any) => Date.parse(e.node.createdAt));
    expect(a).toBeGreaterThanOrEqual(b);
    expect(conversation.activity.edges.map((e: any) => e.node.type)).toContain("CREATED");
  });

  it("lists contacts with search, status and channel filters, and a contact's conversations", async () => {
    const contacts = await t.db.prisma.contact.findMany();
    const active = contacts.filter((c) => c.status === "ACTIVE").length;
    const res = dataOf<{ contacts: Conn }>(await t.gql(`{ contacts(first: 100, filter: { status: [ACTIVE] }) { totalCount edges { node { id fullName metadata status } } } }`));
    expect(res.contacts.totalCount).toBe(active);
    expect(res.contacts.edges.every((e) => e.node.status === "ACTIVE")).toBe(true);
    for (const none of [`{ status: [] }`, `{ preferredChannel: [] }`]) {
      expect(dataOf<{ contacts: Conn }>(await t.gql(`{ contacts(filter: ${none}) { totalCount edges { node { id } } } }`)).contacts, none).toMatchObject({ totalCount: 0, edges: [] });
    }
    const target = contacts.find((c) => c.email)!;
    const found = dataOf<{ contacts: Conn }>(await t.gql(`query($s: String) { contacts(filter: { search: $s }) { edges { node { id } } } }`, { s: target.email!.toUpperCase() }));
    expect(found.contacts.edges.map((e) => e.node.id)).toContain(target.id);
    const own = await t.db.prisma.conversation.count({ where: { contactId: target.id } });
    const detail = dataOf<{ contact: any }>(await t.gql(`query($id: ID!) { contact(id: $id) { conversations(first: 100) { totalCount edges { node { contactId } } } } }`, { id: target.id }));
    expect(detail.contact.conversations.totalCount).toBe(own);
    expect(detail.contact.conversations.edges.every((e: any) => e.node.contactId === target.id)).toBe(true);
  });

  it("search ignores accents as it ignores case, for contacts and conversations: muller finds Zoë Müller", async () => {
    const workspaceId = t.seed!.workspaceId;
    const contact = await t.db.prisma.contact.create({ data: { id: "cnt_accentsearch0001", workspaceId, firstName: "Zoë", lastName: "Müller" } });
    const conversation = await t.db.prisma.conversation.create({
      data: { id: "conv_accentsearch001", workspaceId, contactId: contact.id, channel: "EMAIL", subject: "Rückerstattung für Bestellung" },
    });
    for (const term of ["zoe muller", "MÜLLER", "Zoë Mül", "muller"]) {
      const { contacts } = dataOf<{ contacts: Conn }>(await t.gql(`query($s: String) { contacts(filter: { search: $s }) { edges { node { id } } } }`, { s: term }));
      expect(contacts.edges.map((e) => e.node.id), term).toContain(contact.id);
      const { conversations } = dataOf<{ conversations: Conn }>(
        // Newest first: the seed's own Müllers have older conversations.
        await t.gql(`query($s: String) { conversations(filter: { search: $s }, orderBy: { field: CREATED_AT }) { edges { node { id } } } }`, { s: term }),
      );
      expect(conversations.edges.map((e) => e.node.id), term).toContain(conversation.id);
    }
    const bySubject = dataOf<{ conversations: Conn }>(await t.gql(`{ conversations(filter: { search: "ruckerstattung fur" }) { edges { node { id } } } }`));
    expect(bySubject.conversations.edges.map((e) => e.node.id)).toEqual([conversation.id]);
  });

  it("derives fullName from first and last name when none is set", async () => {
    const c = await t.db.prisma.contact.findFirstOrThrow({ where: { lastName: { not: null } } });
    const { contact } = dataOf<{ contact: any }>(await t.gql(`query($id: ID!) { contact(id: $id) { fullName } }`, { id: c.id }));
    expect(contact.fullName).toBe(`${c.firstName} ${c.lastName}`);
  });

  it("lists agents, the viewer, and labels with counts", async () => {
    const res = dataOf<any>(await t.gql(`{ viewer { id role } agents { name active } labels { name conversationCount } }`));
    expect(res.viewer.role).toBe("ADMIN");
    expect(res.agents.length).toBe(8);
    const billing = await t.db.prisma.conversation.count({ where: { labels: { has: "billing" } } });
    expect(res.labels.find((l: any) => l.name === "billing").conversationCount).toBe(billing);
  });

  it("resolves node and nodes by id prefix, for every Node type, null for unknown ids", async () => {
    const conv = await t.db.prisma.conversation.findFirstOrThrow();
    const contact = await t.db.prisma.contact.findFirstOrThrow();
    const message = await t.db.prisma.message.findFirstOrThrow();
    const activity = await t.db.prisma.conversationActivity.findFirstOrThrow();
    const res = dataOf<any>(
      await t.gql(`query($a: ID!, $ids: [ID!]!) {
        node(id: $a) { __typename id ... on Conversation { subject } }
        nodes(ids: $ids) { __typename id ... on Message { body conversation { id } } ... on ConversationActivity { type conversationId } }
      }`, { a: conv.id, ids: [contact.id, "conv_000000000000zz", conv.id, message.id, activity.id, "msg_000000000000zz"] }),
    );
    expect(res.node).toEqual({ __typename: "Conversation", id: conv.id, subject: conv.subject });
    expect(res.nodes).toEqual([
      { __typename: "Contact", id: contact.id },
      null,
      { __typename: "Conversation", id: conv.id },
      { __typename: "Message", id: message.id, body: message.body, conversation: { id: message.conversationId } },
      { __typename: "ConversationActivity", id: activity.id, type: activity.type, conversationId: activity.conversationId },
      null,
    ]);
  });
});

describe("bad input", () => {
  const cases: [string, string, Record<string, unknown>?][] = [
    ["first over 100", `{ conversations(first: 101) { totalCount } }`],
    ["negative first", `{ conversations(first: -1) { totalCount } }`],
    ["malformed cursor", `{ conversations(after: "not-a-cursor") { totalCount } }`],
    ["malformed id", `{ conversation(id: "42") { id } }`],
    ["id of another type", `{ contact(id: "conv_0123456789abcdef") { id } }`],
    ["unknown enum", `{ conversations(filter: { status: [PENDING] }) { totalCount } }`],
    ["unknown enum in variables", `query($s: [ConversationStatus!]) { conversations(filter: { status: $s }) { totalCount } }`, { s: ["PENDING"] }],
    ["bad label filter", `{ conversations(filter: { labels: ["no/slashes"] }) { totalCount } }`],
    ["bad DateTime", `{ conversations(filter: { updatedAfter: "yesterday" }) { totalCount } }`],
  ];
  it("rejects filter ids of the wrong kind, and assignedToId with unassigned: true, naming the field (a typo is not an empty inbox)", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ assignedToId: "cnt_0123456789abcdef" }, "filter.assignedToId"],
      [{ contactId: "garbage" }, "filter.contactId"],
      [{ assignedToId: "agt_0123456789abcdef", unassigned: true }, "filter.unassigned"],
    ];
    for (const [filter, field] of cases) {
      for (const query of [
        `query($f: ConversationFilter) { conversations(filter: $f) { totalCount } }`,
        `query($f: ConversationFilter) { conversationCounts(filter: $f) { total } }`,
      ]) {
        const res = await t.gql(query, { f: filter });
        expect(res.errors?.[0].extensions, JSON.stringify(filter)).toEqual({ code: "BAD_USER_INPUT", field });
      }
    }
    // Assigned to someone (unassigned: false) and to this agent agree.
    const agent = await t.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId, role: "AGENT" } });
    const both = await t.gql(`query($f: ConversationFilter) { conversations(filter: $f) { totalCount } }`, { f: { assignedToId: agent.id, unassigned: false } });
    expect(both.errors).toBeUndefined();
  });

  it("nodes: a malformed id is an error at its own index; the other entries still load", async () => {
    const conv = await t.db.prisma.conversation.findFirstOrThrow({ where: { workspaceId: t.seed!.workspaceId } });
    const res = await t.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } viewer { id } }`, { ids: [conv.id, "bad", "conv_doesnotexist0000"] });
    expect(res.data).toMatchObject({ nodes: [{ id: conv.id }, null, null], viewer: { id: expect.stringMatching(/^agt_/) } });
    expect(res.errors).toEqual([expect.objectContaining({ path: ["nodes", 1], extensions: { code: "BAD_USER_INPUT", field: "ids.1" } })]);
  });

  for (const [name, query, variables] of cases) {
    it(`rejects ${name} with BAD_USER_INPUT and a clear message`, async () => {
      const res = await t.gql(query, variables);
      expect(res.errors?.length).toBeGreaterThan(0);
      expect(res.errors![0].extensions?.code).toBe("BAD_USER_INPUT");
      expect(res.errors![0].message).not.toMatch(/prisma|stack|\/work\//i);
    });
  }

  it("rejects a cursor from another ordering, whatever the type of its key", async () => {
    const endCursor = async (orderBy: unknown) =>
      dataOf<any>(await t.gql(`query($o: ConversationOrder) { conversations(first: 1, orderBy: $o) { pageInfo { endCursor } } }`, { o: orderBy })).conversations
        .pageInfo.endCursor as string;
    const cases = [
      { cursor: await endCursor(null), orderBy: { field: "CREATED_AT" } },
      { cursor: await endCursor({ field: "PRIORITY" }), orderBy: null },
    ];
    for (const { cursor, orderBy } of cases) {
      const res = await t.gql(`query($a: String, $o: ConversationOrder) { conversations(after: $a, orderBy: $o) { totalCount } }`, { a: cursor, o: orderBy });
      expect(res.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^"after" belongs to another ordering/), extensions: { code: "BAD_USER_INPUT", field: "after" } });
    }
  });

  it("rejects another list's cursor: a message's on conversations or contacts, an activity entry's on messages", async () => {
    const { conversations } = dataOf<any>(
      await t.gql(`{ conversations(first: 1, filter: { hasUnread: true }) { edges { node { messages(first: 1) { pageInfo { endCursor } } activity(first: 1) { pageInfo { endCursor } } } } } }`),
    );
    const { messages, activity } = conversations.edges[0].node;
    const refused = [
      { query: `query($c: String) { conversations(after: $c, orderBy: { field: CREATED_AT }) { totalCount } }`, cursor: messages.pageInfo.endCursor, of: "message", list: "conversation" },
      { query: `query($c: String) { contacts(after: $c) { totalCount } }`, cursor: messages.pageInfo.endCursor, of: "message", list: "contact" },
      { query: `query($c: String) { conversations(first: 1) { edges { node { messages(after: $c) { totalCount } } } } }`, cursor: activity.pageInfo.endCursor, of: "activity", list: "message" },
    ];
    for (const { query, cursor, of, list } of refused) {
      const error = (await t.gql(query, { c: cursor })).errors?.[0];
      expect(error).toMatchObject({
        message: `"after" is a cursor of another list (of ${of} records, not ${list} records).`,
        extensions: { code: "BAD_USER_INPUT", field: "after" },
      });
    }
  });

  it("refuses a cursor whose sort key was edited, before any SQL runs", async () => {
    const { conversations } = dataOf<any>(await t.gql(`{ conversations(first: 1) { pageInfo { endCursor } } }`));
    const [name, , id] = JSON.parse(Buffer.from(conversations.pageInfo.endCursor, "base64url").toString()) as string[];
    const forged = (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString("base64url");
    const cases: [string, string][] = [
      [forged([name!, "notadate", id!]), "LAST_MESSAGE_AT"],
      [forged([name!, "2026-02-30 10:00:00+00", id!]), "LAST_MESSAGE_AT"],
      [forged(["PRIORITY:DESC", "abc", id!]), "PRIORITY"],
      [forged(["PRIORITY:DESC", "99999999999", id!]), "PRIORITY"],
    ];
    for (const [cursor, field] of cases) {
      for (const argument of ["after", "before"]) {
        const res = await t.gql(`query($c: String, $o: ConversationOrder) { conversations(${argument}: $c, orderBy: $o) { totalCount } }`, {
          c: cursor,
          o: { field, direction: "DESC" },
        });
        expect(res.errors?.[0]).toMatchObject({ message: `"${argument}" is not a cursor this API issued.`, extensions: { code: "BAD_USER_INPUT", field: argument } });
      }
    }
  });

  it("refuses requests without a token", async () => {
    const res = await t.gql(`{ conversations { totalCount } }`, {}, { token: null });
    expect(res.status).toBe(401);
    expect(res.errors![0].extensions?.code).toBe("UNAUTHENTICATED");
  });
});
