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
import { TOPICS } from "./demo-topics.js";

export interface SeedOptions {
  contacts?: number;
  conversations?: number;
  /** Same seed, same data: demos and screenshots stay comparable. */
  seed?: number;
  workspaceName?: string;
}

/** The demo workspace's size on a first start. */
export const DEMO_SIZE = { contacts: 200, conversations: 1000 } as const;

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
/**
 * Phone numbers by country, '#' a random digit, each of its country's national length: in the
 * ranges set aside for fiction where there is one (NANP 555-01xx, Ofcom's 07700 900xxx), else
 * under a mobile prefix. A country with more patterns has more customers.
 */
const PHONE_PATTERNS = [
  "+121255501##", "+141555501##", "+131255501##", // US: area code, 555, 01xx
  "+447700900###", // UK
  "+35191#######", "+35193#######", // Portugal
  "+49151########", "+49160#######", // Germany: 11 and 10 digits, both in use
  "+346########", // Spain
  "+55119########", "+55219########", // Brazil: area code, then 9 and 8 digits
];

// Hours of the day (workspace time) customers start a conversation: daytime and evening mostly.
const CUSTOMER_HOURS = [0, 1, 5, 6, 7, 8, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 13, 13, 14, 14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 23];
// Agents work Monday to Saturday, 08:00 to 20:00, in the workspace's time, here UTC (a workspace
// has no time zone of its own).
const SHIFT = { opens: 8, closes: 20 };

/** `at` when it falls in a shift, else the next shift's start plus `backlog` (what was queued before). */
function onShift(at: number, backlog: number): number {
  const day = new Date(at);
  const hour = day.getUTCHours();
  if (day.getUTCDay() !== 0 && hour >= SHIFT.opens && hour < SHIFT.closes) return at;
  const opens = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + (hour < SHIFT.opens ? 0 : 1), SHIFT.opens));
  if (opens.getUTCDay() === 0) opens.setUTCDate(opens.getUTCDate() + 1);
  return opens.getTime() + backlog;
}

/** A message of a thread, or its closing: how long after the previous step it comes, and whose it is. */
interface Step {
  inbound: boolean;
  wait: number;
  /** Added to the start of the next shift when an agent's step falls outside one. */
  backlog: number;
}

/** When each step happens, the first at `start`: a customer's after its wait, an agent's after its wait and in a shift. */
function schedule(steps: readonly Step[], start: number): number[] {
  let at = start;
  return steps.map((step) => (at = step.inbound ? at + step.wait : onShift(at + step.wait, step.backlog)));
}

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
async function demoWorkspaceExists(prisma: PrismaClient, seed = DEFAULT_SEED): Promise<boolean> {
  return (await prisma.workspace.count({ where: { id: seededIds(seed)("workspace") } })) > 0;
}

/** Another process wrote this seed's workspace while this one was about to. */
class DemoWorkspaceTaken extends Error {}

/**
 * The demo workspace, unless it is there already: null then. Instances that start together on an
 * empty database all get here; the first to write the workspace seeds it, the others get null.
 * `starting` is called when it is not there, before the seed's writes.
 */
export async function seedDemoWorkspaceOnce(prisma: PrismaClient, starting: () => void = () => {}): Promise<SeedResult | null> {
  if (await demoWorkspaceExists(prisma)) return null;
  starting();
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
 * channel, status and priority; each conversation plays one of src/db/demo-topics.ts' threads as
 * far as its status has got. Contacts, conversations and their histories are written through
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
  const contactCount = options.contacts ?? DEMO_SIZE.contacts;
  const conversationCount = options.conversations ?? DEMO_SIZE.conversations;
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

  const deleted = new Set<string>();
  // What a contact will be once the threads are written.
  const statusOf = (contact: { id: string; status: string }) => (deleted.has(contact.id) ? "DELETED" : contact.status);
  const contacts = await inOneTransaction(deps, async (batch) => {
    const created = [];
    for (let i = 0; i < contactCount; i++) {
      const firstName = rnd.pick(FIRST_NAMES);
      const lastName = rnd.pick(LAST_NAMES);
      // Customers since before the demo's two months of conversations.
      const at = new Date(now - rnd.int(90, 720) * DAY - rnd.int(0, DAY));
      const handle = `${firstName}.${lastName ?? "x"}${i}`.toLowerCase().normalize("NFD").replace(/[^a-z0-9.]/g, "");
      const phone = rnd.next() < 0.85 ? rnd.pick(PHONE_PATTERNS).replace(/#/g, () => String(rnd.int(0, 9))) : null;
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
      // A contact is deleted after its conversations (no new one may start with a deleted contact):
      // active until the threads are written.
      const contact = await createContact({ ...batch, at }, admin, { ...fields, status: fields.status === "DELETED" ? "ACTIVE" : fields.status });
      if (fields.status === "DELETED") deleted.add(contact.id);
      created.push(contact);
    }
    return created;
  });

  let messages = 0;
  let demoConversationId = "";
  const workspaceName = options.workspaceName ?? "Acme Support";
  // Waits, skewed towards the short end: most answers come quickly, a few take long.
  const wait = (minMinutes: number, maxMinutes: number) => Math.round(minMinutes * 60 + (maxMinutes - minMinutes) * 60 * rnd.next() ** 2) * 1000;
  for (let from = 0; from < conversationCount; from += CONVERSATIONS_PER_TRANSACTION) {
    await inOneTransaction(deps, async (batch) => {
      for (let i = from; i < Math.min(from + CONVERSATIONS_PER_TRANSACTION, conversationCount); i++) {
        // The README's demo conversation: an order-status question on WhatsApp, waiting unanswered
        // and unassigned, its priority not yet HIGH (the README's examples change all of that).
        const demo = i === 0;
        const contact = demo ? contacts.find((c) => statusOf(c) === "ACTIVE" && c.phone)! : rnd.pick(contacts);
        const topic = demo ? TOPICS[0] : rnd.pick(TOPICS);
        // Only active contacts have conversations still open: the others' are history.
        const open = demo || (statusOf(contact) === "ACTIVE" && rnd.next() < 0.4);
        // Some open conversations wait in the queue, unassigned; one that was answered was answered by its assignee.
        const assignee = demo || (open && rnd.next() < 0.35) ? null : rnd.pick(assignable);
        // How far the thread got: a queued one has the customer's first turn only, an open one
        // stops before the end, a settled one ends with the agent's answer or the customer's thanks.
        const turns = topic.turns.length;
        const turnCount = !assignee ? 1 : open ? rnd.int(1, turns - 1) : turns - (rnd.next() < 0.3 ? 1 : 0);
        const channel: Channel = demo ? "WHATSAPP" : rnd.next() < 0.6 ? contact.preferredChannel! : rnd.pick(reachableOn(contact));
        const priority: ConversationPriority | null = demo ? "MEDIUM" : rnd.next() < 0.25 ? null : rnd.next() < (topic.high ?? 0.1) ? "HIGH" : rnd.pick(["LOW", "MEDIUM"] as const);
        const premium = (contact.metadata as { tier?: string }).tier === "premium";
        const labels = [...topic.labels.filter((_, k) => k === 0 || rnd.next() < 0.5), ...(priority === "HIGH" ? ["urgent"] : []), ...(premium ? ["vip"] : [])];
        const order = String(rnd.int(10_000, 99_999));
        const agentName = assignee?.name.split(" ")[0] ?? "";
        const fill = (line: string) => line.replaceAll("{order}", order).replaceAll("{name}", contact.firstName).replaceAll("{agent}", agentName);
        // E-mail sends a turn as one signed message; chat channels send each line as it is typed.
        const signature = (inbound: boolean) => (inbound ? [contact.firstName, contact.lastName].filter(Boolean).join(" ") : `Best regards,\n${agentName}\n${workspaceName}`);
        const thread = topic.turns.slice(0, turnCount).flatMap((turn, t) => {
          const inbound = t % 2 === 0;
          const lines = (typeof turn === "string" ? [turn] : turn).map(fill);
          const bodies = channel === "EMAIL" ? [`${lines.join("\n\n")}\n\n${signature(inbound)}`] : lines;
          // Every wait is drawn whatever the calendar, so the same seed draws the same data on any day:
          // the next line of a turn within a minute or two, a first reply minutes to hours later.
          return bodies.map((body, k) => ({
            inbound,
            body,
            wait: t === 0 && k === 0 ? 0 : k > 0 ? wait(0.3, 2) : inbound ? wait(1, 180) : t === 1 ? wait(3, 240) : wait(2, 40),
            backlog: rnd.int(2, 120) * MINUTE,
          }));
        });
        const status: ConversationStatus = open ? "OPEN" : rnd.next() < 0.3 ? "ARCHIVED" : "CLOSED";
        const steps: Step[] = open ? thread : [...thread, { inbound: false, wait: wait(10, 480), backlog: rnd.int(2, 120) * MINUTE }];
        // The thread goes on the calendar (agents' steps in their shifts), starting on a day more
        // often recent (open ones within days, settled ones within two months), a day earlier
        // until its last step is past.
        let day = Math.floor((open ? 4 : 60) * rnd.next() ** 2);
        const startOfDay = rnd.pick(CUSTOMER_HOURS) * 60 * MINUTE + rnd.int(0, 60 * MINUTE - 1);
        let times: number[];
        do times = schedule(steps, now - (now % DAY) - day++ * DAY + startOfDay);
        while (times.at(-1)! > now);

        const conversation = await createConversation({ ...batch, at: new Date(times[0]) }, admin, {
          contactId: contact.id,
          channel,
          subject: topic.subject,
          priority,
          labels,
          tags: [...(topic.tags ?? [])],
          assignedToId: assignee?.id,
        });
        if (demo) demoConversationId = conversation.id;
        const agent = assignee && actorOf(assignee);
        let unread = 0;
        for (const [m, { inbound, body }] of thread.entries()) {
          const sentAt = new Date(times[m]);
          if (inbound) {
            await receiveMessage({ ...batch, at: sentAt }, admin, { conversationId: conversation.id, body, externalId: `demo-${i}-${m}`, sentAt });
            unread++;
          } else {
            // The assignee reads what is waiting (in conversations that stay open), then replies.
            if (status === "OPEN" && unread) {
              await markConversationRead({ ...batch, at: sentAt }, agent!, { id: conversation.id });
              unread = 0;
            }
            await sendMessage({ ...batch, at: sentAt }, agent!, { conversationId: conversation.id, body });
          }
          messages++;
        }
        if (status !== "OPEN") {
          // Only open conversations wait to be read; the assignee reads one before closing it.
          const closedAt = new Date(times.at(-1)!);
          if (unread) await markConversationRead({ ...batch, at: closedAt }, agent!, { id: conversation.id });
          await updateConversationStatus({ ...batch, at: closedAt }, agent!, { id: conversation.id, status });
        }
      }
    });
  }
  await prisma.contact.updateMany({ where: { id: { in: [...deleted] } }, data: { status: "DELETED" } });
  // Fresh bulk data has no planner statistics until autovacuum gets to it (PGlite has none).
  await prisma.$executeRawUnsafe("ANALYZE");

  return { workspaceId, demoConversationId, agents: agents.length, contacts: contacts.length, conversations: conversationCount, messages };
}
