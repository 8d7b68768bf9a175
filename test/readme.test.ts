import { readFileSync } from "node:fs";
import { Kind, parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SIZE } from "../src/db/seed.js";
import { startTestGateway, type GraphQLResponse, type TestGateway } from "./helpers.js";

// Every ```graphql block of the README runs, in order, against fresh demo data as the demo
// admin (the token GraphiQL opens with), and returns data without errors. A subscription block
// runs over Server-Sent Events, as GraphiQL runs it, and its first event must carry data: so a
// README subscription must answer at once on subscribe (unreadTotals does); one that only
// speaks after a change goes in a ```text block.
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
// Fences may be indented (inside a list item).
const blocks = [...readme.matchAll(/^ *```graphql\n([\s\S]*?)^ *```/gm)].map((m) => m[1]!);
// Any fence that names GraphQL some other way would escape the test: there must be none.
const graphqlFences = readme.match(/^ *```\s*(graphql|gql)\b.*$/gim) ?? [];

const isSubscription = (block: string) =>
  parse(block).definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === "subscription");

/** Subscribes over SSE and returns the first `next` event's payload, then unsubscribes. */
async function firstEvent(block: string): Promise<GraphQLResponse<Record<string, unknown>>> {
  const response = await t.gateway.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${await t.token()}` },
    body: JSON.stringify({ query: block }),
  });
  expect(response.headers.get("content-type"), block).toMatch(/text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let received = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before its first event: ${received}`);
      received += decoder.decode(value, { stream: true });
      const frame = /^event: next\ndata: (.*)$/m.exec(received);
      if (frame) return { status: response.status, ...JSON.parse(frame[1]!) };
    }
  } finally {
    await reader.cancel();
  }
}

let t: TestGateway;
beforeAll(async () => {
  // The demo data of a first start, at its full size: the README's ids and what it says of them are of these.
  t = await startTestGateway({ seed: DEMO_SIZE });
});
afterAll(() => t?.close());

describe("README examples", () => {
  it("names the demo conversation the seed makes", () => {
    expect(readme).toContain(t.seed!.demoConversationId);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(graphqlFences).toHaveLength(blocks.length);
  });

  it("every graphql block runs as it is, and every mutation changes what it names (its updatedAt moves)", async () => {
    const started = Date.now();
    for (const block of blocks) {
      const response = isSubscription(block) ? await firstEvent(block) : await t.gql(block);
      expect(response.errors, block).toBeUndefined();
      expect(Object.values(response.data ?? {}).every((value) => value !== null), block).toBe(true);
      const isMutation = parse(block).definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === "mutation");
      const updatedAt = [...JSON.stringify(response.data).matchAll(/"updatedAt":"([^"]+)"/g)].map((m) => Date.parse(m[1]!));
      if (isMutation) for (const at of updatedAt) expect(at, block).toBeGreaterThanOrEqual(started - 1000);
    }
  });

  it("the mutation examples did what they say", async () => {
    const demo = await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: t.seed!.demoConversationId } });
    expect(demo).toMatchObject({ status: "CLOSED", priority: "HIGH", unreadCount: 0 });
    expect(demo.labels).toEqual(expect.arrayContaining(["vip", "shipping"]));
    // The delivery example is idempotent: running it again changes no counter.
    const deliver = blocks.find((b) => b.includes("mutation Deliver"))!;
    expect((await t.gql(deliver)).errors).toBeUndefined();
    expect(await t.db.prisma.conversation.findUniqueOrThrow({ where: { id: demo.id } })).toEqual(demo);
  });
});
