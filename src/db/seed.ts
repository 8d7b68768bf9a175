import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { Channel, ConversationPriority, ConversationStatus } from "../generated/prisma/enums.js";
import { createContact } from "../domain/contacts.js";
import {
  createConversation,
  markConversationRead,
  updateConversationStatus,
} from "../domain/conversations.js";
import { newId, seededIds } from "../domain/ids.js";
import { receiveMessage, sendMessage } from "../domain/messages.js";
import { type WriteDeps, inOneTransaction } from "../domain/write.js";

export interface SeedOptions {
  contacts?: number;
  conversations?: number;
  /** Same seed, same data: demos and screenshots stay comparable. */
  seed?: number;
  workspaceName?: string;
}

export interface SeedResult {
  workspaceId: string;
  /** An open conversation with unread messages whose id depends only on the seed (the README's examples use it). */
  demoConversationId: string;
  agents: number;
  contacts: number;
  conversations: number;
  messages: number;
}

/** A small deterministic PRNG (mulberry32); the fuzz test draws from it too. */
export function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const sample = <T>(items: readonly T[], count: number): T[] => {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length) out.push(pool.splice(Math.floor(next() * pool.length), 1)[0]);
    return out;
  };
  return { next, pick, int, sample };
}

const AGENTS = [
  { name: "Ada Lovelace", role: "ADMIN" },
  { name: "Grace Hopper", role: "AGENT" },
  { name: "Alan Turing", role: "AGENT" },
  { name: "Katherine Johnson", role: "AGENT" },
  { name: "Linus Pauling", role: "AGENT" },
  { name: "Margaret Hamilton", role: "AGENT" },
  { name: "Tim Berners-Lee", role: "VIEWER" },
  { name: "Barbara Liskov", role: "AGENT", active: false },
] as const;

const FIRST_NAMES = ["Maria", "John", "Aisha", "Wei", "Lucas", "Sofia", "Omar", "Emma", "Yuki", "Carlos", "Fatima", "Noah", "Priya", "Liam", "Chloe", "Mateo", "Zara", "Ivan", "Amara", "Felix"];
const LAST_NAMES = ["Garcia", "Smith", "Khan", "Zhang", "Silva", "Rossi", "Haddad", "Müller", "Tanaka", "Lopez", "Nguyen", "Okafor", "Patel", "Brown", "Dubois", "Kowalski", null];
const CHANNELS: Channel[] = ["WHATSAPP", "INSTAGRAM", "SMS", "EMAIL"];
const LABELS = ["billing", "urgent", "shipping", "returns", "vip", "bug", "feature-request", "onboarding", "refund", "account"];
const TAGS = ["q4-campaign", "mobile-app", "web", "wholesale", "first-contact", "follow-up"];
const TOPICS = [
  { subject: "Order status inquiry", inbound: ["Hi, where is my order #{n}? It was due yesterday.", "Any update on the delivery?", "The tracking page still shows 'label created'."], outbound: ["Thanks for reaching out! Let me check order #{n} for you.", "Your parcel left our warehouse this morning; you should get it within 2 days."] },
  { subject: "Refund request", inbound: ["I'd like a refund for order #{n}, the size was wrong.", "How long does the refund take?", "I sent the item back last week."], outbound: ["Sorry about that! I've started the return for order #{n}.", "Refunds reach your card 5-7 business days after we receive the item."] },
  { subject: "Payment failed", inbound: ["My card was declined but I was charged?", "Can I pay with PayPal instead?", "The charge shows twice on my statement."], outbound: ["The first charge was an authorisation hold; it disappears within 3 days.", "Yes, PayPal works at checkout."] },
  { subject: "Account access", inbound: ["I can't log in, the reset email never arrives.", "I changed my phone number, how do I update it?"], outbound: ["I've resent the reset link; please check your spam folder too.", "You can update it under Settings → Profile."] },
  { subject: "Product question", inbound: ["Is the blue jacket waterproof?", "Do you ship to Canada?", "Will size M be restocked?"], outbound: ["Yes, it's rated 10,000 mm waterproof.", "We ship to Canada with duties included."] },
  { subject: "Bug report: app crashes", inbound: ["The app crashes when I open my cart.", "I'm on iOS 18, app version 4.2.", "Still crashing after the update."], outbound: ["Thanks for the details! Our team is looking into it.", "A fix ships in version 4.2.1 this week."] },
  { subject: "Wholesale pricing", inbound: ["Do you offer wholesale prices for 200+ units?", "We're a shop in Lisbon."], outbound: ["We do! I'll send our wholesale catalogue by email."] },
] as const;

/** The channels a contact can be written to: WhatsApp and SMS need a phone, email an address; Instagram a handle, which every demo contact has. */
function reachableOn(contact: { phone: string | null; email: string | null }): Channel[] {
  return CHANNELS.filter((channel) => (channel === "EMAIL" ? contact.email : channel === "INSTAGRAM" ? true : contact.phone));
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const DEFAULT_SEED = 20261125;
// Conversations per transaction: one transaction for everything would hold PGlite's only
// connection for the whole seed, one per write costs a commit each.
const CONVERSATIONS_PER_TRANSACTION = 100;

/** Whether the demo workspace of this seed (the one whose ids the README names) is in the database. */
export async function demoWorkspaceExists(prisma: PrismaClient, seed = DEFAULT_SEED): Promise<boolean> {
  return (await prisma.workspace.count({ where: { id: seededIds(seed)("workspace") } })) > 0;
}

/** Another process wrote this seed's workspace while this one was about to. */
class DemoWorkspaceTaken extends Error {}

/**
 * The demo workspace, unless it is there already: null then. Instances that start together on an
 * empty database all get here; the first to write the workspace seeds it, the others get null.
 */
export async function seedDemoWorkspaceOnce(prisma: PrismaClient): Promise<SeedResult | null> {
  if (await demoWorkspaceExists(prisma)) return null;
  try {
    // With the seed's own ids even if the workspace appeared since: its id is what tells the race.
    return await writeDemoData(prisma, {}, false);
  } catch (error) {
    if (error instanceof DemoWorkspaceTaken) return null;
    throw error;
  }
}

/**
 * Demo data for a first start: one workspace with agents, contacts and conversations across every
 * channel, status and priority. Contacts, conversations and their histories are written through
 * the domain functions the API uses (createContact, createConversation, receiveMessage,
 * sendMessage, markConversationRead, updateConversationStatus), replayed at past instants, so
 * the counters, previews, lastContacted and activity are consistent by construction.
 *
 * Ids derive from the seed, so the same seed gives the same ids (the first conversation is the
 * README's demo conversation). Seeding again into a database that already holds the seed's
 * workspace uses random ids instead.
 */
export async function seedDemoData(prisma: PrismaClient, options: SeedOptions = {}): Promise<SeedResult> {
  return writeDemoData(prisma, options, await demoWorkspaceExists(prisma, options.seed));
}

async function writeDemoData(prisma: PrismaClient, options: SeedOptions, reseeding: boolean): Promise<SeedResult> {
  const seed = options.seed ?? DEFAULT_SEED;
  const rnd = random(seed);
  const contactCount = options.contacts ?? 200;
  const conversationCount = options.conversations ?? 1000;
  const now = Date.now();
  const seeded = seededIds(seed);
  const seededWorkspaceId = seeded("workspace");
  const ids = reseeding ? newId : seeded;
  const workspaceId = reseeding ? newId("workspace") : seededWorkspaceId;
  const deps: WriteDeps = { prisma, events: { publish: () => undefined }, ids };

  const agents: Prisma.AgentCreateManyInput[] = AGENTS.map((a) => ({
    id: ids("agent"),
    workspaceId,
    name: a.name,
    email: `${a.name.split(" ")[0].toLowerCase()}@acme-support.example`,
    role: a.role,
    active: !("active" in a) || a.active,
    createdAt: new Date(now - 400 * DAY),
    updatedAt: new Date(now - 400 * DAY),
  }));
  const assignable = agents.filter((a) => a.active && a.role !== "VIEWER");
  const actorOf = (agent: Prisma.AgentCreateManyInput) => ({ agentId: agent.id, workspaceId });
  await prisma
    .$transaction(async (tx) => {
      await tx.workspace.create({ data: { id: workspaceId, name: options.workspaceName ?? "Acme Support" } });
      await tx.agent.createMany({ data: agents });
    })
    .catch((error: unknown) => {
      const taken = error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
      throw taken && !reseeding ? new DemoWorkspaceTaken() : error;
    });
  const admin = actorOf(agents[0]);

  const contacts = await inOneTransaction(deps, async (batch) => {
    const created = [];
    for (let i = 0; i < contactCount; i++) {
      const firstName = rnd.pick(FIRST_NAMES);
      const lastName = rnd.pick(LAST_NAMES);
      const at = new Date(now - rnd.int(30, 365) * DAY - rnd.int(0, DAY));
      const handle = `${firstName}.${lastName ?? "x"}${i}`.toLowerCase().normalize("NFD").replace(/[^a-z0-9.]/g, "");
      const phone = rnd.next() < 0.85 ? `+${rnd.pick(["1", "44", "351", "49", "34", "55"])}${String(rnd.int(200_000_000, 999_999_999))}` : null;
      const email = rnd.next() < 0.8 ? `${handle}@example.com` : null;
      const fields = {
        firstName,
        lastName,
        phone,
        email,
        preferredChannel: rnd.pick(reachableOn({ phone, email })),
        metadata: rnd.next() < 0.6 ? { customer_id: `cust_${1000 + i}`, tier: rnd.pick(["free", "standard", "premium"]) } : {},
        status: rnd.next() < 0.9 ? ("ACTIVE" as const) : rnd.pick(["INACTIVE", "DELETED"] as const),
      };
      created.push(await createContact({ ...batch, at }, admin, fields));
    }
    return created;
  });

  let messages = 0;
  let demoConversationId = "";
  for (let from = 0; from < conversationCount; from += CONVERSATIONS_PER_TRANSACTION) {
    await inOneTransaction(deps, async (batch) => {
      for (let i = from; i < Math.min(from + CONVERSATIONS_PER_TRANSACTION, conversationCount); i++) {
        const demo = i === 0;
        // The README's demo conversation is a WhatsApp thread with a customer who can be reached there.
        const contact = demo ? contacts.find((c) => c.status === "ACTIVE" && c.phone)! : rnd.pick(contacts);
        const topic = rnd.pick(TOPICS);
        const draw: ConversationStatus = rnd.next() < 0.55 ? "OPEN" : rnd.next() < 0.75 ? "CLOSED" : "ARCHIVED";
        // Only active contacts have conversations still open: the others' are history.
        const status = demo ? "OPEN" : contact.status !== "ACTIVE" && draw === "OPEN" ? "CLOSED" : draw;
        const priority: ConversationPriority | null = rnd.next() < 0.25 ? null : rnd.pick(["LOW", "MEDIUM", "HIGH"] as const);
        const orderNo = rnd.int(10_000, 99_999);
        // A few fresh conversations have no message yet: they sort last in the inbox.
        const messageTotal = demo ? 3 : rnd.next() < 0.03 ? 0 : rnd.int(1, 7);
        // The gaps between messages (and before closing) are drawn first, so the conversation can
        // start early enough for its last step to fall before now: open ones within the last
        // week, settled ones within two months, none before its contact was created.
        const gaps = Array.from({ length: messageTotal + 1 }, () => rnd.int(1, 180) * MINUTE);
        const span = gaps.reduce((sum, gap) => sum + gap, 0);
        const age = rnd.int(0, status === "OPEN" ? 7 : 60) * DAY + rnd.int(0, DAY);
        const createdAt = new Date(Math.max(now - span - age, contact.createdAt.getTime() + MINUTE));
        const assignee = rnd.next() < 0.7 ? rnd.pick(assignable) : null;
        const channels = reachableOn(contact);
        const conversation = await createConversation({ ...batch, at: createdAt }, admin, {
          contactId: contact.id,
          channel: demo ? "WHATSAPP" : rnd.next() < 0.6 ? contact.preferredChannel! : rnd.pick(channels),
          subject: topic.subject,
          priority,
          labels: rnd.sample(LABELS, rnd.int(0, 3)),
          tags: rnd.sample(TAGS, rnd.int(0, 2)),
          assignedToId: assignee?.id,
        });
        if (demo) demoConversationId = conversation.id;
        let at = createdAt.getTime();
        let next = 0;
        const step = () => new Date((at += gaps[next++]));
        let unread = 0;
        for (let m = 0; m < messageTotal; m++) {
          // Conversations open with the contact; replies alternate irregularly after that.
          const inbound = m === 0 || demo || rnd.next() < 0.55;
          const body = rnd.pick(inbound ? topic.inbound : topic.outbound).replace("{n}", String(orderNo));
          const sentAt = step();
          if (inbound) {
            await receiveMessage({ ...batch, at: sentAt }, admin, { conversationId: conversation.id, body, externalId: `demo-${i}-${m}`, sentAt });
            unread++;
          } else {
            // An agent reads what is waiting (in conversations that stay open), then replies.
            const agent = actorOf(assignee ?? rnd.pick(assignable));
            if (status === "OPEN" && unread) {
              await markConversationRead({ ...batch, at: sentAt }, agent, { id: conversation.id });
              unread = 0;
            }
            await sendMessage({ ...batch, at: sentAt }, agent, { conversationId: conversation.id, body });
          }
          messages++;
        }
        if (status !== "OPEN") {
          // Only open conversations wait to be read; whoever closes one reads it first.
          const agent = actorOf(assignee ?? rnd.pick(assignable));
          const closedAt = step();
          if (unread) await markConversationRead({ ...batch, at: closedAt }, agent, { id: conversation.id });
          await updateConversationStatus({ ...batch, at: closedAt }, agent, { id: conversation.id, status });
        }
      }
    });
  }
  // Fresh bulk data has no planner statistics until autovacuum gets to it (PGlite has none).
  await prisma.$executeRawUnsafe("ANALYZE");

  return { workspaceId, demoConversationId, agents: agents.length, contacts: contacts.length, conversations: conversationCount, messages };
}
