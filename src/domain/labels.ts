import { readRows } from "../db/adapter-reads.js";
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import { DomainError } from "./errors.js";
import { characterCount, firstCharacters } from "./text.js";

export const MAX_LABELS = 20;
export const MAX_LABEL_LENGTH = 50;
const LABEL_PATTERN = /^[a-z0-9 _-]+$/;

/** Tags follow the rules of labels; messages name what the field holds. */
const nounOf = (field: string) => (/tags$/i.test(field) ? "tag" : "label");

/** Trims and lower-cases one label (or tag), or fails with BAD_USER_INPUT naming it. */
function normalizeLabel(raw: string, field: string): string {
  const label = raw.trim().toLowerCase();
  if (label.length < 1 || label.length > MAX_LABEL_LENGTH || !LABEL_PATTERN.test(label)) {
    const shown = characterCount(raw) > 60 ? `${firstCharacters(raw, 60)}…` : raw;
    const noun = nounOf(field);
    throw new DomainError(
      "BAD_USER_INPUT",
      `Invalid ${noun} "${shown}": ${noun}s are 1 to ${MAX_LABEL_LENGTH} characters of a-z, 0-9, space, "_" and "-".`,
      { field, [noun]: shown },
    );
  }
  return label;
}

/** The refusal of more than MAX_LABELS labels (or tags) on one conversation. */
export function tooManyLabels(field: string, count: number): DomainError {
  return new DomainError("BAD_USER_INPUT", `A conversation has at most ${MAX_LABELS} ${nounOf(field)}s; this would make ${count}.`, { field });
}

/** Normalised, de-duplicated labels in first-seen order. Used for tags too: same rules. */
export function normalizeLabelList(raw: readonly string[], field: string): string[] {
  return [...new Set(raw.map((label) => normalizeLabel(label, field)))];
}

export interface LabelCount {
  name: string;
  conversationCount: number;
}

/** The labels in use in a workspace, most used first, from the tallies the write path keeps (conversation-tallies.ts). */
export function labelsInUse(db: PrismaClient, workspaceId: string): Promise<LabelCount[]> {
  return readRows<LabelCount>(
    db,
    Prisma.sql`
    SELECT t."label" AS "name", sum(t."conversations")::int AS "conversationCount"
    FROM "LabelTally" t WHERE t."workspaceId" = ${workspaceId}
    GROUP BY t."label" HAVING sum(t."conversations") > 0
    ORDER BY sum(t."conversations") DESC, t."label"`,
  );
}
