import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { TOPICS } from "../src/db/demo-topics.js";
import { type SeedResult, seedDemoData } from "../src/db/seed.js";
import { messagePreview } from "../src/domain/messages.js";
import { createGateway } from "../src/gateway.js";
import { createLogger } from "../src/logger.js";
import { openDatabase } from "../src/db/client.js";
import { freshDatabase, onPostgres, testConfig } from "./helpers.js";

// The demo seed writes through the domain functions: its figures must agree with its rows.
let db: Database;
let drop: () => Promise<void>;
let seed: SeedResult;
beforeAll(async () => {
  ({ db, drop } = await freshDatabase());
  await migrate(db);
  seed = await seedDemoData(db.prisma, { contacts: 30, conversations: 120 });
});
afterAll(() => drop?.());

describe("demo seed", () => {
  it("has counters, previews and lastContacted consistent with its messages", async () => {
    const conversations = await db.prisma.conversation.findMany({
      where: { workspaceId: seed.workspaceId },
      include: { messages: { orderBy: [{ createdAt: "desc" }, { id: "desc" }] }, activities: true },
    });
    expect(conversations).toHaveLength(120);
    expect(conversations.reduce((n, c) => n + c.messages.length, 0)).toBe(seed.messages);
    for (const c of conversations) {
      const inbound = c.messages.filter((m) => m.direction === "INBOUND");
      expect(c.messageCount).toBe(c.messages.length);
      expect(c.lastMessageAt).toEqual(c.messages[0]?.createdAt ?? null);
      expect(c.lastMessagePreview).toBe(c.messages[0] ? messagePreview(c.messages[0].body) : null);
      expect(c.lastMessageId).toBe(c.messages[0]?.id ?? null);
      expect(c.unreadCount).toBeLessThanOrEqual(inbound.length);
      if (c.status !== "OPEN") expect(c.unreadCount).toBe(0);
      const count = (type: string) => c.activities.filter((a) => a.type === type).length;
      expect(count("CREATED")).toBe(1);
      expect(count("MESSAGE_RECEIVED")).toBe(inbound.length);
      expect(count("MESSAGE_SENT")).toBe(c.messages.length - inbound.length);
      expect(c.updatedAt.getTime()).toBe(Math.max(...c.activities.map((a) => a.createdAt.getTime())));
    }
    const contacts = await db.prisma.contact.findMany({ where: { workspaceId: seed.workspaceId } });
    for (const contact of contacts) {
      const last = await db.prisma.message.aggregate({
        where: { direction: "INBOUND", conversation: { contactId: contact.id } },
        _max: { createdAt: true },
      });
      expect(contact.lastContacted).toEqual(last._max.createdAt);
    }
  });

  it("is plausible as a support inbox: channels the contact can be reached on, open threads recent and of active contacts, nothing before its contact or after now", async () => {
    const conversations = await db.prisma.conversation.findMany({ where: { workspaceId: seed.workspaceId }, include: { contact: true, messages: true } });
    const now = Date.now();
    for (const c of conversations) {
      if (c.channel === "WHATSAPP" || c.channel === "SMS") expect(c.contact.phone, c.id).not.toBeNull();
      if (c.channel === "EMAIL") expect(c.contact.email, c.id).not.toBeNull();
      expect(c.createdAt.getTime()).toBeGreaterThan(c.contact.createdAt.getTime());
      if (c.status === "OPEN") {
        expect(c.contact.status, c.id).toBe("ACTIVE");
        expect(now - c.createdAt.getTime()).toBeLessThan(9 * 86_400_000);
      }
      for (const m of c.messages) expect(m.createdAt.getTime()).toBeLessThanOrEqual(now);
      // No two messages of a thread share an instant: their order is the order they were written in.
      expect(new Set(c.messages.map((m) => m.createdAt.getTime())).size).toBe(c.messages.length);
    }
    const demo = conversations.find((c) => c.id === seed.demoConversationId)!;
    expect(demo).toMatchObject({ status: "OPEN", channel: "WHATSAPP", unreadCount: 3 });
  });

  it("reads like support threads: in order, no line twice, answered by the assignee, labelled by topic, settled ones resolved", async () => {
    const conversations = await db.prisma.conversation.findMany({
      where: { workspaceId: seed.workspaceId },
      include: { contact: true, messages: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] } },
    });
    for (const c of conversations) {
      const directions = c.messages.map((m) => m.direction);
      // A conversation starts with the customer's first message, and an agent answers once per turn.
      expect(directions[0], c.id).toBe("INBOUND");
      expect(c.createdAt, c.id).toEqual(c.messages[0].createdAt);
      expect(directions.some((d, k) => d === "OUTBOUND" && directions[k - 1] === "OUTBOUND"), c.id).toBe(false);
      expect(new Set(c.messages.map((m) => m.body)).size, c.id).toBe(c.messages.length);
      for (const m of c.messages) if (m.direction === "OUTBOUND") expect(m.senderId, c.id).toBe(c.assignedToId);
      // An open conversation's unread messages are the customer's since the last reply.
      const sinceReply = directions.length - 1 - directions.lastIndexOf("OUTBOUND");
      if (c.status === "OPEN") expect(c.unreadCount, c.id).toBe(sinceReply);
      const topic = TOPICS.find((t) => t.subject === c.subject);
      expect(topic, c.id).toBeDefined();
      const premium = (c.contact.metadata as { tier?: string }).tier === "premium";
      const allowed = [...topic!.labels, ...(c.priority === "HIGH" ? ["urgent"] : []), ...(premium ? ["vip"] : [])];
      for (const label of c.labels) expect(allowed, `${c.id} ${c.subject}`).toContain(label);
      if (c.status !== "OPEN") {
        // Settled: answered, and ending with the agent's answer or the customer's last line (thanks).
        const last = c.messages.at(-1)!;
        expect(directions, c.id).toContain("OUTBOUND");
        if (last.direction === "INBOUND") expect(last.body.startsWith(topic!.turns.at(-1) as string), c.id).toBe(true);
      }
    }
    const subjects = new Set(conversations.map((c) => c.subject));
    expect(subjects.size).toBeGreaterThanOrEqual(15);
  });

  it("has valid E.164 phone numbers of their country's national length", async () => {
    // National significant number lengths (ITU-T E.164 national plans) of the country codes in use.
    const lengths: Record<string, number[]> = { "1": [10], "34": [9], "44": [10], "49": [10, 11], "55": [10, 11], "351": [9] };
    const contacts = await db.prisma.contact.findMany({ where: { workspaceId: seed.workspaceId, phone: { not: null } } });
    expect(contacts.length).toBeGreaterThan(0);
    for (const { phone } of contacts) {
      expect(phone).toMatch(/^\+[1-9]\d{6,14}$/);
      const code = Object.keys(lengths).find((cc) => phone!.startsWith(`+${cc}`));
      expect(code, phone!).toBeDefined();
      const national = phone!.slice(1 + code!.length);
      expect(lengths[code!], phone!).toContain(national.length);
      // NANP: neither the area code nor the exchange starts with 0 or 1.
      if (code === "1") expect(national, phone!).toMatch(/^[2-9]\d{2}[2-9]\d{6}$/);
    }
  });

  it("keeps agents to their shifts and customers mostly to the day; more conversations lately than two months ago", async () => {
    const messages = await db.prisma.message.findMany({ where: { workspaceId: seed.workspaceId } });
    const hour = (at: Date) => at.getUTCHours();
    for (const m of messages.filter((m) => m.direction === "OUTBOUND")) {
      // Monday to Saturday, 08:00 to 20:00 in the workspace's time (UTC).
      expect(m.createdAt.getUTCDay(), m.id).not.toBe(0);
      expect(hour(m.createdAt), m.id).toBeGreaterThanOrEqual(8);
      expect(hour(m.createdAt), m.id).toBeLessThan(20);
    }
    const inWorkingHours = messages.filter((m) => hour(m.createdAt) >= 8 && hour(m.createdAt) < 20).length;
    expect(inWorkingHours / messages.length).toBeGreaterThan(0.8);
    const conversations = await db.prisma.conversation.findMany({ where: { workspaceId: seed.workspaceId } });
    const daysAgo = (c: { createdAt: Date }) => (Date.now() - c.createdAt.getTime()) / 86_400_000;
    for (const c of conversations) expect(daysAgo(c), c.id).toBeLessThan(65);
    expect(conversations.filter((c) => daysAgo(c) < 20).length).toBeGreaterThan(2 * conversations.filter((c) => daysAgo(c) >= 40).length);
  });

  it("derives ids from the seed: the demo conversation keeps its id whatever the size; seeding again uses fresh ids", async () => {
    const other = await freshDatabase();
    try {
      await migrate(other.db);
      const small = await seedDemoData(other.db.prisma, { contacts: 3, conversations: 2 });
      expect(small.workspaceId).toBe(seed.workspaceId);
      expect(small.demoConversationId).toBe(seed.demoConversationId);
      const agentIds = (d: Database, workspaceId: string) => d.prisma.agent.findMany({ where: { workspaceId }, orderBy: { id: "asc" } }).then((a) => a.map((x) => x.id));
      expect(await agentIds(other.db, small.workspaceId)).toEqual(await agentIds(db, seed.workspaceId));
      const again = await seedDemoData(other.db.prisma, { contacts: 3, conversations: 2 });
      expect(again.workspaceId).not.toBe(small.workspaceId);
      expect(again.demoConversationId).toMatch(/^conv_[0-9a-z]{16}$/);
      expect(await other.db.prisma.workspace.count()).toBe(2);
    } finally {
      await other.drop();
    }
    const demo = await db.prisma.conversation.findUniqueOrThrow({ where: { id: seed.demoConversationId } });
    expect(demo).toMatchObject({ status: "OPEN", unreadCount: 3, messageCount: 3 });
  });
});

describe("SEED_DEMO_DATA", () => {
  it("auto seeds an empty database outside production only; never and always override it; always seeds the demo workspace once", async () => {
    const empty = await freshDatabase();
    try {
      // The workspaces after a start, and whether the start said it was seeding.
      const afterStart = async (config: Record<string, string>) => {
        const said: string[] = [];
        const sink = new Writable({
          write(chunk, _encoding, done) {
            said.push(...String(chunk).split("\n").filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg));
            done();
          },
        });
        await (await createGateway(testConfig(config), { db: empty.db, log: createLogger("info", sink) })).close();
        return { workspaces: await empty.db.prisma.workspace.count(), seeding: said.includes("seeding demo data") };
      };
      expect(await afterStart({ NODE_ENV: "production", SEED_DEMO_DATA: "auto" })).toEqual({ workspaces: 0, seeding: false });
      expect(await afterStart({ NODE_ENV: "development", SEED_DEMO_DATA: "never" })).toEqual({ workspaces: 0, seeding: false });
      expect(await afterStart({ NODE_ENV: "production", SEED_DEMO_DATA: "always" })).toEqual({ workspaces: 1, seeding: true });
      // auto leaves a database that has data alone, even outside production.
      expect(await afterStart({ NODE_ENV: "development", SEED_DEMO_DATA: "auto" })).toEqual({ workspaces: 1, seeding: false });
      // always adds the demo workspace once, not one more on every start, and does not say it seeds.
      expect(await afterStart({ NODE_ENV: "production", SEED_DEMO_DATA: "always" })).toEqual({ workspaces: 1, seeding: false });
    } finally {
      await empty.drop();
    }
  }, 120_000);

  it.runIf(onPostgres)("lets instances start together on an empty database: one seeds the demo workspace, the others start beside it", async () => {
    const empty = await freshDatabase();
    const instances = await Promise.all([1, 2, 3].map(() => openDatabase({ url: empty.url!, poolSize: 3 })));
    try {
      for (const mode of ["auto", "always"]) {
        const gateways = await Promise.all(instances.map((db) => createGateway(testConfig({ NODE_ENV: "development", SEED_DEMO_DATA: mode }), { db })));
        await Promise.all(gateways.map((g) => g.close()));
        expect(await empty.db.prisma.workspace.count()).toBe(1);
      }
      expect(await empty.db.prisma.conversation.count()).toBe(1000);
    } finally {
      await Promise.all(instances.map((db) => db.close()));
      await empty.drop();
    }
  }, 120_000);
});
