import { Prisma, type Conversation } from "../generated/prisma/client.js";
import type { ActivityType, Channel, ConversationPriority, ConversationStatus } from "../generated/prisma/enums.js";
import type { Actor } from "../auth/viewer.js";
import { DomainError, STATEMENT_TIMED_OUT, badInput, isStatementTimeout, notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { MAX_LABELS, normalizeLabelList, tooManyLabels } from "./labels.js";
import { textArray } from "./paging.js";
import { type PendingEvent, type Tx, type WriteDeps, idFor, inOneTransaction, sqlNow, transact } from "./write.js";
import { optionalText } from "./text.js";

/**
 * Locks the conversation's row for the rest of the transaction and returns it as it is now, so
 * what a write decides from it cannot move under it. Another workspace's conversation is
 * NOT_FOUND, like a missing one.
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

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

/** A JSON value as a jsonb parameter. */
const jsonb = (value: unknown) => Prisma.sql`CAST(${json(value)} AS jsonb)`;

/**
 * The new updatedAt of a conversation aliased `t`: strictly later than the old one, so two
 * writes in one millisecond still differ and a stale expectedUpdatedAt can never match.
 */
export function bumpedUpdatedAt(deps: WriteDeps): Prisma.Sql {
  return Prisma.sql`GREATEST(${sqlNow(deps)}, t."updatedAt" + interval '1 millisecond')`;
}

/**
 * The INSERT of one activity row inside a statement whose CTE `c` returns the changed
 * conversation: the activity commits with the change or not at all, stamped with the new updatedAt.
 */
export function activityInsert(
  deps: WriteDeps,
  change: { actor: Actor | null; type: ActivityType; from: Prisma.Sql; to: Prisma.Sql },
  source: Prisma.Sql = Prisma.sql`c`,
) {
  const id = idFor(deps, "activity");
  const sql = Prisma.sql`INSERT INTO "ConversationActivity" ("id", "workspaceId", "conversationId", "type", "actorId", "from", "to", "createdAt")
    SELECT ${id}, c."workspaceId", c."id", CAST(${change.type} AS "ActivityType"), ${change.actor?.agentId ?? null},
      ${change.from}, ${change.to}, c."updatedAt" FROM ${source}`;
  return { id, type: change.type, sql };
}

type EventFigures = Pick<Conversation, "unreadCount" | "assignedToId">;

/** The event of one committed change (queued until the commit). */
export function changeEvent(
  after: EventFigures & Pick<Conversation, "id" | "workspaceId" | "updatedAt">,
  before: EventFigures | null,
  activity: { id: string; type: ActivityType },
): PendingEvent {
  return {
    workspaceId: after.workspaceId,
    conversationId: after.id,
    activities: [{ id: activity.id, type: activity.type }],
    unreadCount: after.unreadCount,
    version: after.updatedAt.getTime(),
    unreadChanged: after.unreadCount !== (before?.unreadCount ?? 0),
    assignedToId: after.assignedToId,
    previousAssignedToId: before ? before.assignedToId : null,
  };
}

type ChangedColumn = "status" | "priority" | "assignedToId" | "unreadCount" | "labels" | "tags";

/**
 * One change to one column, in one statement: lock the row (CTE `b`, the exact "before"), update
 * it when `changes` holds for the locked row (the new value differs, the limit allows it) and
 * expectedUpdatedAt matches, bump updatedAt, and write the activity from the old value to the new.
 * When nothing was written, a second look under the same lock tells NOT_FOUND, CONFLICT, or a
 * no-op (`refused` may turn that into an error, e.g. too many labels).
 */
async function changeColumn(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; expectedUpdatedAt?: Date | null },
  change: {
    type: ActivityType;
    column: ChangedColumn;
    /** The new value, an expression over the locked row `t`. */
    set: Prisma.Sql;
    /** Whether the write changes anything, over the locked row `b`. */
    changes: Prisma.Sql;
    refused?: (current: Conversation) => DomainError | null;
    /** Checks (with their own errors) that must pass before the write, e.g. the assignee. */
    precheck?: (tx: Tx) => Promise<void>;
  },
): Promise<Conversation> {
  requireId(input.id, "conversation");
  const column = Prisma.raw(`"${change.column}"`);
  const expected = input.expectedUpdatedAt ? Prisma.sql`b."updatedAt" = CAST(${input.expectedUpdatedAt.toISOString()} AS timestamptz)` : Prisma.sql`TRUE`;
  return transact(deps, async (tx, emit) => {
    await change.precheck?.(tx);
    const activity = activityInsert(
      deps,
      { actor, type: change.type, from: Prisma.sql`to_jsonb(b.${column})`, to: Prisma.sql`to_jsonb(c.${column})` },
      Prisma.sql`c, b`,
    );
    const [after] = await tx.$queryRaw<(Conversation & { beforeUnreadCount: number; beforeAssignedToId: string | null })[]>`
      WITH b AS (
        SELECT * FROM "Conversation" WHERE "id" = ${input.id} AND "workspaceId" = ${actor.workspaceId} FOR UPDATE
      ), c AS (
        UPDATE "Conversation" t SET ${column} = ${change.set}, "updatedAt" = ${bumpedUpdatedAt(deps)}
        FROM b WHERE t."id" = b."id" AND ${expected} AND ${change.changes}
        RETURNING t.*
      ), a AS (${activity.sql})
      SELECT c.*, b."unreadCount" AS "beforeUnreadCount", b."assignedToId" AS "beforeAssignedToId" FROM c, b`;
    if (!after) {
      const current = await lockForChange(tx, actor, input.id, input.expectedUpdatedAt);
      const refusal = change.refused?.(current);
      if (refusal) throw refusal;
      return current;
    }
    const { beforeUnreadCount, beforeAssignedToId, ...row } = after;
    emit(changeEvent(row, { unreadCount: beforeUnreadCount, assignedToId: beforeAssignedToId }, activity));
    return row;
  });
}

export function updateConversationStatus(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; status: ConversationStatus; expectedUpdatedAt?: Date | null },
) {
  const status = Prisma.sql`CAST(${input.status} AS "ConversationStatus")`;
  return changeColumn(deps, actor, input, { type: "STATUS_CHANGED", column: "status", set: status, changes: Prisma.sql`b."status" <> ${status}` });
}

/** Sets the priority; null clears it. */
export function updateConversationPriority(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; priority: ConversationPriority | null; expectedUpdatedAt?: Date | null },
) {
  const priority = Prisma.sql`CAST(${input.priority} AS "ConversationPriority")`;
  return changeColumn(deps, actor, input, {
    type: "PRIORITY_CHANGED",
    column: "priority",
    set: priority,
    changes: Prisma.sql`b."priority" IS DISTINCT FROM ${priority}`,
  });
}

/**
 * The agents who may take conversations: active AGENTs and ADMINs of the actor's workspace. The
 * row is share-locked so the agent cannot be deactivated before the assignment commits.
 */
function assignableAgent(actor: Actor, agentId: string | null): Prisma.Sql {
  return Prisma.sql`SELECT 1 FROM "Agent" g WHERE g."id" = ${agentId} AND g."workspaceId" = ${actor.workspaceId}
    AND g."active" AND g."role" <> 'VIEWER' FOR SHARE`;
}

/** Checks that an agent may take conversations, or fails with BAD_USER_INPUT saying why not. */
async function requireAssignableAgent(tx: Tx, actor: Actor, agentId: string, field: string): Promise<void> {
  requireId(agentId, "agent", field);
  const [ok] = await tx.$queryRaw<unknown[]>(assignableAgent(actor, agentId));
  if (ok) return;
  const [agent] = await tx.$queryRaw<{ active: boolean; role: string }[]>`
    SELECT "active", "role"::text AS "role" FROM "Agent" WHERE "id" = ${agentId} AND "workspaceId" = ${actor.workspaceId}`;
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
  const { agentId } = input;
  return changeColumn(deps, actor, input, {
    type: "ASSIGNED",
    column: "assignedToId",
    set: Prisma.sql`${agentId}`,
    changes: Prisma.sql`b."assignedToId" IS DISTINCT FROM ${agentId}`,
    precheck: agentId === null ? undefined : (tx) => requireAssignableAgent(tx, actor, agentId, field),
  });
}

/** Sets unreadCount to 0 and records READ; a conversation with nothing unread is a no-op. */
export function markConversationRead(deps: WriteDeps, actor: Actor, input: { id: string }) {
  return changeColumn(deps, actor, input, { type: "READ", column: "unreadCount", set: Prisma.sql`0`, changes: Prisma.sql`b."unreadCount" <> 0` });
}

/**
 * Adds labels in one UPDATE computed from the row's current labels (appended in the order given,
 * duplicates skipped) whose WHERE refuses more than 20: concurrent adds never lose each other's
 * labels, and the 21st fails however the calls interleave.
 */
export function addConversationLabels(deps: WriteDeps, actor: Actor, input: { id: string; labels: readonly string[] }, field = "labels") {
  const added = normalizeLabelList(input.labels, field);
  if (added.length > MAX_LABELS) throw tooManyLabels(field, added.length);
  const merged = (row: string) =>
    Prisma.sql`${Prisma.raw(row)}."labels" || ARRAY(SELECT l FROM unnest(${textArray(added)}) WITH ORDINALITY AS n(l, i) WHERE l <> ALL(${Prisma.raw(row)}."labels") ORDER BY i)`;
  return changeColumn(deps, actor, input, {
    type: "LABELS_CHANGED",
    column: "labels",
    set: merged("t"),
    changes: Prisma.sql`NOT b."labels" @> ${textArray(added)} AND cardinality(${merged("b")}) <= ${MAX_LABELS}`,
    refused: (current) => {
      const count = new Set([...current.labels, ...added]).size;
      return count > MAX_LABELS ? tooManyLabels(field, count) : null;
    },
  });
}

/** Removes labels in one UPDATE computed from the row's current labels; absent ones are ignored. */
export function removeConversationLabels(deps: WriteDeps, actor: Actor, input: { id: string; labels: readonly string[] }, field = "labels") {
  const removed = textArray(normalizeLabelList(input.labels, field));
  return changeColumn(deps, actor, input, {
    type: "LABELS_CHANGED",
    column: "labels",
    set: Prisma.sql`ARRAY(SELECT l FROM unnest(t."labels") WITH ORDINALITY AS n(l, i) WHERE l <> ALL(${removed}) ORDER BY i)`,
    changes: Prisma.sql`b."labels" && ${removed}`,
  });
}

/** Replaces the labels or tags; the same set in another order is a no-op. */
function setList(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; values: readonly string[]; expectedUpdatedAt?: Date | null },
  list: { column: "labels" | "tags"; type: ActivityType },
) {
  const values = normalizeLabelList(input.values, list.column);
  if (values.length > MAX_LABELS) throw tooManyLabels(list.column, values.length);
  const column = Prisma.raw(`b."${list.column}"`);
  const next = textArray(values);
  return changeColumn(deps, actor, input, {
    type: list.type,
    column: list.column,
    set: next,
    changes: Prisma.sql`NOT (${column} @> ${next} AND ${column} <@ ${next})`,
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

/** Opens a conversation with a contact of the actor's workspace (not a deleted one) and records CREATED. */
export async function createConversation(deps: WriteDeps, actor: Actor, input: CreateConversationInput): Promise<Conversation> {
  requireId(input.contactId, "contact", "input.contactId");
  const subject = optionalText(input.subject ?? null, "input.subject", MAX_SUBJECT_LENGTH);
  const labels = normalizeLabelList(input.labels ?? [], "input.labels");
  const tags = normalizeLabelList(input.tags ?? [], "input.tags");
  if (labels.length > MAX_LABELS) throw tooManyLabels("input.labels", labels.length);
  if (tags.length > MAX_LABELS) throw tooManyLabels("input.tags", tags.length);
  const assignedToId = input.assignedToId ?? null;
  if (assignedToId) requireId(assignedToId, "agent", "input.assignedToId");
  return transact(deps, async (tx, emit) => {
    const { channel, contactId } = input;
    const priority = input.priority ?? null;
    const activity = activityInsert(deps, {
      actor,
      type: "CREATED",
      from: Prisma.sql`NULL`,
      to: jsonb({ contactId, channel, subject, priority, labels, tags, assignedToId }),
    });
    const [created] = await tx.$queryRaw<Conversation[]>`
      WITH c AS (
        INSERT INTO "Conversation" ("id", "workspaceId", "contactId", "channel", "subject", "priority", "labels", "tags", "assignedToId", "createdAt", "updatedAt")
        SELECT ${idFor(deps, "conversation")}, k."workspaceId", k."id", CAST(${channel} AS "Channel"), ${subject},
          CAST(${priority} AS "ConversationPriority"), ${textArray(labels)}, ${textArray(tags)}, ${assignedToId}, ${sqlNow(deps)}, ${sqlNow(deps)}
        FROM "Contact" k WHERE k."id" = ${contactId} AND k."workspaceId" = ${actor.workspaceId} AND k."status" <> 'DELETED'
          AND (CAST(${assignedToId} AS text) IS NULL OR EXISTS (${assignableAgent(actor, assignedToId)}))
        FOR SHARE OF k
        RETURNING *
      ), a AS (${activity.sql})
      SELECT * FROM c`;
    if (!created) {
      // Nothing inserted: say which reference is at fault.
      const [contact] = await tx.$queryRaw<{ status: string }[]>`SELECT "status" FROM "Contact" WHERE "id" = ${contactId} AND "workspaceId" = ${actor.workspaceId}`;
      if (!contact) throw badInput("input.contactId", `No contact with id "${contactId}" in your workspace.`);
      // A deleted contact is kept so that its history stays whole, not to be written to again.
      if (contact.status === "DELETED") throw badInput("input.contactId", `Contact "${contactId}" is deleted: no new conversation may start with it.`);
      await requireAssignableAgent(tx, actor, assignedToId!, "input.assignedToId");
      throw new Error(`creating a conversation for contact ${contactId} inserted nothing`);
    }
    emit(changeEvent(created, null, activity));
    return created;
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
  if (addLabels.length > MAX_LABELS) throw tooManyLabels("addLabels", addLabels.length);
  const removeLabels = normalizeLabelList(input.removeLabels ?? [], "removeLabels");
  const both = addLabels.filter((label) => removeLabels.includes(label));
  if (both.length) throw badInput("removeLabels", `A label cannot be both added and removed: ${both.join(", ")}.`);
  // Only "unassign" unassigns: a form that sends assignToId null for "no agent chosen" leaves assignments alone.
  const assignee = input.unassign ? null : (input.assignToId ?? undefined);
  // An agent who cannot be assigned is one error for the request, not one per conversation; each
  // assignment still checks again under its own lock.
  if (assignee) await requireAssignableAgent(deps.batch?.tx ?? deps.prisma, actor, assignee, "assignToId");
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
          : {
              id,
              code: "INTERNAL_SERVER_ERROR",
              message: isStatementTimeout(error) ? `${STATEMENT_TIMED_OUT}; nothing was changed on this conversation. Try it again.` : "Unexpected error.",
            },
      );
    }
  }
  return result;
}
