import { Prisma, type Conversation } from "../generated/prisma/client.js";
import type { ActivityType, Channel, ConversationPriority, ConversationStatus } from "../generated/prisma/enums.js";
import type { Viewer } from "../graphql/context.js";
import { DomainError, badInput, notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { MAX_LABELS, normalizeLabelList } from "./labels.js";
import { textArray } from "./paging.js";
import { type PendingEvent, type Tx, type WriteDeps, idFor, inOneTransaction, sqlNow, transact } from "./write.js";

/** Who makes a change: an agent of a workspace. */
export type Actor = Pick<Viewer, "agentId" | "workspaceId">;

/**
 * Locks the conversation's row for the rest of the transaction and returns it as it is now, so
 * what a write reads (the "before" of its activity, its no-op and conflict checks) cannot move
 * under it. Another workspace's conversation is NOT_FOUND, like a missing one.
 */
export async function lockConversation(tx: Tx, actor: Actor, id: string, field = "id"): Promise<Conversation> {
  requireId(id, "conversation", field);
  const [row] = await tx.$queryRaw<Conversation[]>`
    SELECT * FROM "Conversation" WHERE "id" = ${id} AND "workspaceId" = ${actor.workspaceId} FOR UPDATE`;
  if (!row) throw notFound("conversation", id);
  return row;
}

/** Locks the row and checks optimistic concurrency: a stale expectedUpdatedAt changes nothing. */
async function lockForChange(tx: Tx, actor: Actor, id: string, expectedUpdatedAt: Date | null | undefined) {
  const row = await lockConversation(tx, actor, id);
  if (expectedUpdatedAt && row.updatedAt.getTime() !== expectedUpdatedAt.getTime()) {
    throw new DomainError(
      "CONFLICT",
      `Conversation ${id} was changed at ${row.updatedAt.toISOString()}, after ${expectedUpdatedAt.toISOString()}: reload it and try again.`,
      { field: "expectedUpdatedAt", updatedAt: row.updatedAt.toISOString() },
    );
  }
  return row;
}

/**
 * Applies `set` to a locked conversation when `guard` holds, and bumps updatedAt. The bump is
 * strictly monotonic, so two writes in one millisecond still leave different updatedAt values and
 * a stale expectedUpdatedAt can never match.
 */
export async function writeConversation(
  tx: Tx,
  deps: WriteDeps,
  id: string,
  set: Prisma.Sql,
  guard: Prisma.Sql = Prisma.sql`TRUE`,
): Promise<Conversation | undefined> {
  const [row] = await tx.$queryRaw<Conversation[]>`
    UPDATE "Conversation" SET ${set}, "updatedAt" = GREATEST(${sqlNow(deps)}, "updatedAt" + interval '1 millisecond')
    WHERE "id" = ${id} AND ${guard} RETURNING *`;
  return row;
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

/** Writes the activity row of one change (at the conversation's new updatedAt) and queues its event. */
export async function recordChange(
  tx: Tx,
  deps: WriteDeps,
  emit: (event: PendingEvent) => void,
  change: { actor: Actor | null; before: Conversation | null; after: Conversation; type: ActivityType; from: unknown; to: unknown },
): Promise<Conversation> {
  const { after, before } = change;
  const id = idFor(deps, "activity");
  await tx.$executeRaw`
    INSERT INTO "ConversationActivity" ("id", "workspaceId", "conversationId", "type", "actorId", "from", "to", "createdAt")
    VALUES (${id}, ${after.workspaceId}, ${after.id}, CAST(${change.type} AS "ActivityType"), ${change.actor?.agentId ?? null},
      CAST(${json(change.from)} AS jsonb), CAST(${json(change.to)} AS jsonb), CAST(${after.updatedAt.toISOString()} AS timestamptz))`;
  emit({
    workspaceId: after.workspaceId,
    conversationId: after.id,
    activities: [{ id, type: change.type }],
    unreadCount: after.unreadCount,
    unreadChanged: after.unreadCount !== (before?.unreadCount ?? 0),
    assignedToId: after.assignedToId,
    previousAssignedToId: before ? before.assignedToId : null,
  });
  return after;
}

/**
 * One field change: lock, check expectedUpdatedAt, skip a no-op, write, record. `next` says
 * what the field becomes, or null when the write would change nothing.
 */
async function changeField<T>(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; expectedUpdatedAt?: Date | null },
  type: ActivityType,
  read: (row: Conversation) => T,
  next: (before: Conversation, tx: Tx) => Promise<{ set: Prisma.Sql } | null> | { set: Prisma.Sql } | null,
): Promise<Conversation> {
  return transact(deps, async (tx, emit) => {
    const before = await lockForChange(tx, actor, input.id, input.expectedUpdatedAt);
    const change = await next(before, tx);
    if (!change) return before;
    const after = (await writeConversation(tx, deps, input.id, change.set))!;
    return recordChange(tx, deps, emit, { actor, before, after, type, from: read(before), to: read(after) });
  });
}

export function updateConversationStatus(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; status: ConversationStatus; expectedUpdatedAt?: Date | null },
) {
  return changeField(deps, actor, input, "STATUS_CHANGED", (c) => c.status, (before) =>
    before.status === input.status ? null : { set: Prisma.sql`"status" = CAST(${input.status} AS "ConversationStatus")` },
  );
}

/** Sets the priority; null clears it. */
export function updateConversationPriority(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; priority: ConversationPriority | null; expectedUpdatedAt?: Date | null },
) {
  return changeField(deps, actor, input, "PRIORITY_CHANGED", (c) => c.priority, (before) =>
    before.priority === input.priority ? null : { set: Prisma.sql`"priority" = CAST(${input.priority} AS "ConversationPriority")` },
  );
}

/**
 * Checks that an agent may take conversations: an active AGENT or ADMIN of the actor's workspace.
 * Its row is share-locked so it cannot be deactivated before the assignment commits.
 */
async function requireAssignableAgent(tx: Tx, actor: Actor, agentId: string, field: string): Promise<void> {
  requireId(agentId, "agent", field);
  const [agent] = await tx.$queryRaw<{ active: boolean; role: string }[]>`
    SELECT "active", "role"::text AS "role" FROM "Agent" WHERE "id" = ${agentId} AND "workspaceId" = ${actor.workspaceId} FOR SHARE`;
  if (!agent) throw badInput(field, `No agent with id "${agentId}" in your workspace.`);
  if (!agent.active) throw badInput(field, `Agent "${agentId}" is inactive and cannot be assigned.`);
  if (agent.role === "VIEWER") throw badInput(field, `Agent "${agentId}" is a VIEWER and cannot be assigned.`);
}

/** Assigns to an active agent of the workspace; null unassigns; the current assignee is a no-op. */
export function assignConversation(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; agentId: string | null; expectedUpdatedAt?: Date | null },
  field = "agentId",
) {
  return changeField(deps, actor, input, "ASSIGNED", (c) => c.assignedToId, async (before, tx) => {
    if (before.assignedToId === input.agentId) return null;
    if (input.agentId !== null) await requireAssignableAgent(tx, actor, input.agentId, field);
    return { set: Prisma.sql`"assignedToId" = ${input.agentId}` };
  });
}

/** Sets unreadCount to 0 and records READ; a conversation with nothing unread is a no-op. */
export function markConversationRead(deps: WriteDeps, actor: Actor, input: { id: string }) {
  return changeField(deps, actor, input, "READ", (c) => c.unreadCount, (before) =>
    before.unreadCount === 0 ? null : { set: Prisma.sql`"unreadCount" = 0` },
  );
}

const tooManyLabels = (field: string, count: number) =>
  badInput(field, `A conversation has at most ${MAX_LABELS} labels; this would make ${count}.`);

/**
 * Adds labels in one UPDATE computed from the row's current labels (appended in the order given,
 * duplicates skipped) whose WHERE refuses more than 20: concurrent adds never lose each other's
 * labels, and the 21st fails however the calls interleave.
 */
export function addConversationLabels(deps: WriteDeps, actor: Actor, input: { id: string; labels: readonly string[] }, field = "labels") {
  const added = normalizeLabelList(input.labels, field);
  if (added.length > MAX_LABELS) throw tooManyLabels(field, added.length);
  const merged = Prisma.sql`"labels" || ARRAY(SELECT l FROM unnest(${textArray(added)}) WITH ORDINALITY AS a(l, i) WHERE l <> ALL("labels") ORDER BY i)`;
  return transact(deps, async (tx, emit) => {
    const before = await lockConversation(tx, actor, input.id);
    if (added.every((label) => before.labels.includes(label))) return before;
    const after = await writeConversation(tx, deps, input.id, Prisma.sql`"labels" = ${merged}`, Prisma.sql`cardinality(${merged}) <= ${MAX_LABELS}`);
    if (!after) throw tooManyLabels(field, new Set([...before.labels, ...added]).size);
    return recordChange(tx, deps, emit, { actor, before, after, type: "LABELS_CHANGED", from: before.labels, to: after.labels });
  });
}

/** Removes labels in one UPDATE computed from the row's current labels; absent ones are ignored. */
export function removeConversationLabels(deps: WriteDeps, actor: Actor, input: { id: string; labels: readonly string[] }, field = "labels") {
  const removed = normalizeLabelList(input.labels, field);
  return changeField(deps, actor, input, "LABELS_CHANGED", (c) => c.labels, (before) =>
    removed.some((label) => before.labels.includes(label))
      ? { set: Prisma.sql`"labels" = ARRAY(SELECT l FROM unnest("labels") WITH ORDINALITY AS a(l, i) WHERE l <> ALL(${textArray(removed)}) ORDER BY i)` }
      : null,
  );
}

/** Replaces the labels or tags; the same set in another order is a no-op. */
function setList(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; values: readonly string[]; expectedUpdatedAt?: Date | null },
  list: { column: "labels" | "tags"; type: ActivityType },
) {
  const values = normalizeLabelList(input.values, list.column);
  if (values.length > MAX_LABELS) {
    throw badInput(list.column, `A conversation has at most ${MAX_LABELS} ${list.column}; got ${values.length}.`);
  }
  const column = Prisma.raw(`"${list.column}"`);
  return changeField(deps, actor, input, list.type, (c) => c[list.column], (before) => {
    const current = before[list.column];
    const same = current.length === values.length && values.every((v) => current.includes(v));
    return same ? null : { set: Prisma.sql`${column} = ${textArray(values)}` };
  });
}

export function setConversationLabels(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; labels: readonly string[]; expectedUpdatedAt?: Date | null },
) {
  return setList(deps, actor, { ...input, values: input.labels }, { column: "labels", type: "LABELS_CHANGED" });
}

/** Tags follow the label rules. */
export function setConversationTags(deps: WriteDeps, actor: Actor, input: { id: string; tags: readonly string[] }) {
  return setList(deps, actor, { ...input, values: input.tags }, { column: "tags", type: "TAGS_CHANGED" });
}

export interface CreateConversationInput {
  contactId: string;
  channel: Channel;
  subject?: string | null;
  priority?: ConversationPriority | null;
  labels?: readonly string[] | null;
  tags?: readonly string[] | null;
  assignedToId?: string | null;
}

export const MAX_SUBJECT_LENGTH = 200;

/** Opens a conversation with a contact of the actor's workspace and records CREATED. */
export async function createConversation(deps: WriteDeps, actor: Actor, input: CreateConversationInput): Promise<Conversation> {
  requireId(input.contactId, "contact", "input.contactId");
  const subject = input.subject?.trim() || null;
  if (subject && subject.length > MAX_SUBJECT_LENGTH) {
    throw badInput("input.subject", `The subject is at most ${MAX_SUBJECT_LENGTH} characters.`);
  }
  const labels = normalizeLabelList(input.labels ?? [], "input.labels");
  const tags = normalizeLabelList(input.tags ?? [], "input.tags");
  if (labels.length > MAX_LABELS) throw tooManyLabels("input.labels", labels.length);
  if (tags.length > MAX_LABELS) throw badInput("input.tags", `A conversation has at most ${MAX_LABELS} tags.`);
  return transact(deps, async (tx, emit) => {
    const [contact] = await tx.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "Contact" WHERE "id" = ${input.contactId} AND "workspaceId" = ${actor.workspaceId} FOR SHARE`;
    if (!contact) throw badInput("input.contactId", `No contact with id "${input.contactId}" in your workspace.`);
    if (input.assignedToId) await requireAssignableAgent(tx, actor, input.assignedToId, "input.assignedToId");
    const created = await tx.conversation.create({
      data: {
        id: idFor(deps, "conversation"),
        workspaceId: actor.workspaceId,
        contactId: input.contactId,
        channel: input.channel,
        subject,
        priority: input.priority ?? null,
        labels,
        tags,
        assignedToId: input.assignedToId ?? null,
        ...(deps.at ? { createdAt: deps.at, updatedAt: deps.at } : {}),
      },
    });
    const { channel, priority, assignedToId } = created;
    return recordChange(tx, deps, emit, {
      actor,
      before: null,
      after: created,
      type: "CREATED",
      from: null,
      to: { contactId: created.contactId, channel, subject, priority, labels, tags, assignedToId },
    });
  });
}

export const MAX_BULK_IDS = 100;

export interface BulkUpdateInput {
  ids: readonly string[];
  status?: ConversationStatus | null;
  /** Absent: unchanged; null: cleared. */
  priority?: ConversationPriority | null;
  addLabels?: readonly string[] | null;
  removeLabels?: readonly string[] | null;
  assignToId?: string | null;
  unassign?: boolean | null;
}

export interface BulkUpdateResult {
  updated: Conversation[];
  errors: { id: string; code: string; message: string }[];
}

/**
 * The same changes on up to 100 conversations. Each conversation changes in its own transaction,
 * through the same rules as the single mutations, and succeeds or fails alone.
 */
export async function bulkUpdateConversations(deps: WriteDeps, actor: Actor, input: BulkUpdateInput): Promise<BulkUpdateResult> {
  if (input.ids.length > MAX_BULK_IDS) throw badInput("ids", `"ids" takes at most ${MAX_BULK_IDS} ids; got ${input.ids.length}.`);
  if (input.assignToId && input.unassign) throw badInput("unassign", 'Pass "assignToId" or "unassign", not both.');
  // Bad labels fail the whole request before anything changes.
  const addLabels = normalizeLabelList(input.addLabels ?? [], "addLabels");
  const removeLabels = normalizeLabelList(input.removeLabels ?? [], "removeLabels");
  const assignee = input.unassign ? null : input.assignToId;
  const steps: ((batch: WriteDeps, id: string) => Promise<Conversation>)[] = [];
  if (input.status) steps.push((batch, id) => updateConversationStatus(batch, actor, { id, status: input.status! }));
  if (input.priority !== undefined) steps.push((batch, id) => updateConversationPriority(batch, actor, { id, priority: input.priority ?? null }));
  if (addLabels.length) steps.push((batch, id) => addConversationLabels(batch, actor, { id, labels: addLabels }, "addLabels"));
  if (removeLabels.length) steps.push((batch, id) => removeConversationLabels(batch, actor, { id, labels: removeLabels }, "removeLabels"));
  if (assignee !== undefined) steps.push((batch, id) => assignConversation(batch, actor, { id, agentId: assignee }, "assignToId"));
  if (!steps.length) throw new DomainError("BAD_USER_INPUT", "Ask for at least one change (status, priority, labels or assignment).");

  const result: BulkUpdateResult = { updated: [], errors: [] };
  for (const id of new Set(input.ids)) {
    try {
      result.updated.push(
        await inOneTransaction(deps, async (batch) => {
          let row = await lockConversation(batch.batch!.tx, actor, id);
          for (const step of steps) row = await step(batch, id);
          return row;
        }),
      );
    } catch (error) {
      if (!(error instanceof DomainError)) {
        deps.log?.error({ err: error, conversationId: id }, "bulk update of one conversation failed");
      }
      result.errors.push(
        error instanceof DomainError
          ? { id, code: error.code, message: error.message }
          : { id, code: "INTERNAL_SERVER_ERROR", message: "Unexpected error." },
      );
    }
  }
  return result;
}
