import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemoData } from "../src/db/seed.js";
import type { Actor } from "../src/auth/viewer.js";
import {
  assignConversation,
  bulkUpdateConversations,
  markConversationRead,
  updateConversationStatus,
} from "../src/domain/conversations.js";
import { receiveMessage } from "../src/domain/messages.js";
import type { WriteDeps } from "../src/domain/write.js";
import type { Conversation } from "../src/generated/prisma/client.js";
import type { ConversationChanged } from "../src/realtime/events.js";
import { freshDatabase, withFailingActivityInsert } from "./helpers.js";

// The domain functions called directly with a recording publisher: what is published, when, and
// what happens when publishing fails.
let db: Database;
let drop: () => Promise<void>;
let actor: Actor;
beforeAll(async () => {
  ({ db, drop } = await freshDatabase());
  await migrate(db);
  const seed = await seedDemoData(db.prisma, { contacts: 10, conversations: 40 });
  const admin = await db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seed.workspaceId, role: "ADMIN" } });
  actor = { agentId: admin.id, workspaceId: seed.workspaceId };
});
afterAll(() => drop?.());

interface Published {
  event: ConversationChanged;
  /** The row as another connection sees it when the event is published. */
  seen: Promise<Conversation | null>;
}

function recorder(extra: Partial<WriteDeps> = {}) {
  const published: Published[] = [];
  const deps: WriteDeps = {
    prisma: db.prisma,
    events: { publish: (event) => published.push({ event, seen: db.prisma.conversation.findUnique({ where: { id: event.conversationId } }) }) },
    ...extra,
  };
  return { deps, published };
}

const taken = new Set<string>();
async function freshConversation(where: Record<string, unknown> = {}) {
  const rows = await db.prisma.conversation.findMany({ where: { workspaceId: actor.workspaceId, ...where }, orderBy: { id: "asc" } });
  const row = rows.find((r) => !taken.has(r.id))!;
  taken.add(row.id);
  return row;
}

describe("events", () => {
  it("one event per committed change, published after the commit, carrying the activity and the new figures", async () => {
    const conv = await freshConversation({ status: "OPEN", unreadCount: { gt: 0 } });
    const { deps, published } = recorder();
    const after = await markConversationRead(deps, actor, { id: conv.id });
    expect(published).toHaveLength(1);
    const [{ event, seen }] = published;
    const activity = await db.prisma.conversationActivity.findFirstOrThrow({
      where: { conversationId: conv.id, type: "READ" },
      orderBy: { createdAt: "desc" },
    });
    expect(event).toEqual({
      workspaceId: actor.workspaceId,
      conversationId: conv.id,
      activities: [{ id: activity.id, type: "READ" }],
      unreadCount: 0,
      version: after.updatedAt.getTime(),
      unreadChanged: true,
      assignedToId: conv.assignedToId,
      previousAssignedToId: conv.assignedToId,
      committedAt: expect.any(Number),
    });
    // Another connection already sees the committed row when the event goes out.
    expect(await seen).toEqual(after);
  });

  it("nothing is published for a no-op, a conflict, or a write that fails and rolls back", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const { deps, published } = recorder();
    await updateConversationStatus(deps, actor, { id: conv.id, status: "OPEN" });
    await expect(
      updateConversationStatus(deps, actor, { id: conv.id, status: "CLOSED", expectedUpdatedAt: new Date(conv.updatedAt.getTime() - 1) }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(
      receiveMessage(deps, actor, { conversationId: conv.id, body: "x", externalId: "e", sentAt: new Date(Date.now() + 86_400_000) }),
    ).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    await withFailingActivityInsert(db, null, () => expect(updateConversationStatus(deps, actor, { id: conv.id, status: "CLOSED" })).rejects.toThrow());
    expect(published).toEqual([]);
    expect(await db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).toEqual(conv);
  });

  it("an assignment carries the assignee before and after", async () => {
    const conv = await freshConversation({ assignedToId: { not: null } });
    const { deps, published } = recorder();
    await assignConversation(deps, actor, { id: conv.id, agentId: null });
    expect(published.map((p) => p.event)).toMatchObject([{ assignedToId: null, previousAssignedToId: conv.assignedToId, unreadChanged: false }]);
  });

  it("a failing publisher never fails the committed write; the failure is logged", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const logged: unknown[] = [];
    const deps: WriteDeps = {
      prisma: db.prisma,
      events: {
        publish: () => {
          throw new Error("bus down");
        },
      },
      log: { error: (...args: unknown[]) => void logged.push(args) },
    };
    const after = await updateConversationStatus(deps, actor, { id: conv.id, status: "CLOSED" });
    expect(after.status).toBe("CLOSED");
    expect((await db.prisma.conversation.findUniqueOrThrow({ where: { id: conv.id } })).status).toBe("CLOSED");
    expect(logged).toHaveLength(1);
  });

  it("a bulk update publishes one event per changed conversation with all its activities", async () => {
    const a = await freshConversation({ status: "OPEN", priority: { not: "HIGH" } });
    const b = await freshConversation({ status: "OPEN", priority: { not: "HIGH" } });
    const { deps, published } = recorder();
    await bulkUpdateConversations(deps, actor, { ids: [a.id, b.id], status: "CLOSED", priority: "HIGH" });
    expect(published.map((p) => p.event.conversationId)).toEqual([a.id, b.id]);
    for (const { event } of published) expect(event.activities.map((x) => x.type)).toEqual(["STATUS_CHANGED", "PRIORITY_CHANGED"]);
  });
});

describe("updatedAt", () => {
  it("moves forward on every write, even several in the same instant, so a stale expectedUpdatedAt never matches", async () => {
    const conv = await freshConversation({ status: "OPEN" });
    const { deps } = recorder({ at: conv.updatedAt });
    const first = await updateConversationStatus(deps, actor, { id: conv.id, status: "CLOSED", expectedUpdatedAt: conv.updatedAt });
    const second = await updateConversationStatus(deps, actor, { id: conv.id, status: "OPEN", expectedUpdatedAt: first.updatedAt });
    expect(first.updatedAt.getTime()).toBe(conv.updatedAt.getTime() + 1);
    expect(second.updatedAt.getTime()).toBe(conv.updatedAt.getTime() + 2);
    await expect(updateConversationStatus(deps, actor, { id: conv.id, status: "CLOSED", expectedUpdatedAt: first.updatedAt })).rejects.toMatchObject({
      code: "CONFLICT",
    });
  });
});
