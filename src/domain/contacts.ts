import { isDeepStrictEqual } from "node:util";
import type { Contact, Prisma } from "../generated/prisma/client.js";
import type { Channel, ContactStatus } from "../generated/prisma/enums.js";
import type { Actor } from "../auth/viewer.js";
import { DomainError, badInput, notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { type WriteDeps, idFor, transact } from "./write.js";
import { normalizeEmail, optionalText, requiredText } from "./text.js";

/** Contact fields as a client sets them; phone (E.164) and email arrive validated by their scalars. */
export interface ContactFields {
  firstName?: string | null;
  lastName?: string | null;
  fullName?: string | null;
  phone?: string | null;
  email?: string | null;
  preferredChannel?: Channel | null;
  metadata?: Record<string, unknown> | null;
  status?: ContactStatus | null;
}

/** A new contact: the same fields, with the first name required. */
export interface CreateContactInput extends ContactFields {
  firstName: string;
}

export const MAX_NAME_LENGTH = 100;

/** How deep contact metadata may nest: deeper objects are not data a dashboard shows, and the JSON serializer recurses. */
const MAX_METADATA_DEPTH = 32;
/**
 * How large contact metadata may be, as JSON: attributes, not documents. Every contact list that
 * asks for it carries it per row (a page of 100 at the body limit would be 10 MB).
 */
export const MAX_METADATA_BYTES = 16_384;

function metadata(value: Record<string, unknown> | null | undefined): Prisma.InputJsonObject | undefined {
  if (value === undefined) return undefined;
  // Iterative, like the value may be deep.
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length) {
    const [item, depth] = pending.pop()!;
    if (!item || typeof item !== "object") continue;
    if (depth > MAX_METADATA_DEPTH) throw badInput("input.metadata", `metadata may nest at most ${MAX_METADATA_DEPTH} levels of objects and lists.`);
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  const bytes = value ? Buffer.byteLength(JSON.stringify(value)) : 0;
  if (bytes > MAX_METADATA_BYTES) {
    throw badInput("input.metadata", `metadata may hold at most ${MAX_METADATA_BYTES.toLocaleString("en-US")} bytes as JSON; this is ${bytes.toLocaleString("en-US")}.`);
  }
  return (value ?? {}) as Prisma.InputJsonObject;
}

/** The columns a set of fields writes; absent fields stay as they are, null clears. */
function contactData(input: ContactFields, creating: boolean) {
  const data = {
    // Absent fields stay undefined (unchanged); a first name may not be cleared.
    firstName: input.firstName === undefined ? undefined : requiredText(input.firstName ?? "", "input.firstName", MAX_NAME_LENGTH),
    lastName: input.lastName === undefined ? undefined : optionalText(input.lastName, "input.lastName", MAX_NAME_LENGTH),
    fullName: input.fullName === undefined ? undefined : optionalText(input.fullName, "input.fullName", MAX_NAME_LENGTH),
    phone: input.phone,
    email: input.email === undefined || input.email === null ? input.email : normalizeEmail(input.email, "input.email"),
    preferredChannel: input.preferredChannel,
    metadata: metadata(input.metadata),
    status: input.status === null ? undefined : input.status,
  };
  if (creating && !data.firstName) throw badInput("input.firstName", "firstName is required.");
  if (input.status === null) throw badInput("input.status", "status may not be null.");
  return data;
}

export async function createContact(deps: WriteDeps, actor: Actor, input: CreateContactInput): Promise<Contact> {
  const data = contactData(input, true);
  return transact(deps, (tx) =>
    tx.contact.create({
      data: {
        ...data,
        firstName: data.firstName!,
        id: idFor(deps, "contact"),
        workspaceId: actor.workspaceId,
        ...(deps.at ? { createdAt: deps.at, updatedAt: deps.at } : {}),
      },
    }),
  );
}

/**
 * Whether a given value equals a stored one as JSON values: jsonb keeps no key order, and the JSON
 * scalar builds the objects written into a document without a prototype, which a deep comparison
 * would count as a difference; the round trip gives both plain objects.
 */
function sameJson(given: unknown, stored: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(given)), stored);
}

/** Changes the given fields; a stale expectedUpdatedAt is a CONFLICT; changing nothing is a no-op. */
export async function updateContact(
  deps: WriteDeps,
  actor: Actor,
  input: { id: string; fields: ContactFields; expectedUpdatedAt?: Date | null },
): Promise<Contact> {
  requireId(input.id, "contact");
  const data = contactData(input.fields, false);
  return transact(deps, async (tx) => {
    const [before] = await tx.$queryRaw<Contact[]>`
      SELECT * FROM "Contact" WHERE "id" = ${input.id} AND "workspaceId" = ${actor.workspaceId} FOR UPDATE`;
    if (!before) throw notFound("contact", input.id);
    if (input.expectedUpdatedAt && before.updatedAt.getTime() !== input.expectedUpdatedAt.getTime()) {
      throw new DomainError("CONFLICT", `Contact ${input.id} was changed at ${before.updatedAt.toISOString()}: reload it and try again.`, {
        field: "expectedUpdatedAt",
        updatedAt: before.updatedAt.toISOString(),
      });
    }
    const changed = Object.entries(data).filter(([key, value]) => value !== undefined && !sameJson(value, before[key as keyof Contact]));
    if (!changed.length) return before;
    // Monotonic like conversations: two edits in one millisecond still differ.
    const now = (deps.at ?? new Date()).getTime();
    return tx.contact.update({
      where: { id: input.id },
      data: { ...Object.fromEntries(changed), updatedAt: new Date(Math.max(now, before.updatedAt.getTime() + 1)) },
    });
  });
}
