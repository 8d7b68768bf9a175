import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers.js";

// Every ```graphql block of the README runs, in order, against fresh demo data as the demo
// admin (the token GraphiQL opens with), and returns data without errors.
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t?.close());

describe("README examples", () => {
  it("names the demo conversation the seed makes", () => {
    expect(readme).toContain(t.seed!.demoConversationId);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it("every graphql block runs as it is", async () => {
    for (const block of blocks) {
      const response = await t.gql(block);
      expect(response.errors, block).toBeUndefined();
      expect(Object.values(response.data ?? {}).every((value) => value !== null), block).toBe(true);
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
