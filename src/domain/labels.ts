import type { PrismaClient } from "../generated/prisma/client.js";
import { DomainError } from "./errors.js";

export const MAX_LABELS = 20;
export const MAX_LABEL_LENGTH = 50;
const LABEL_PATTERN = /^[a-z0-9 _-]+$/;

/** Trims and lower-cases one label, or fails with BAD_USER_INPUT naming the label. */
export function normalizeLabel(raw: string, field: string): string {
  const label = raw.trim().toLowerCase();
  if (label.length < 1 || label.length > MAX_LABEL_LENGTH || !LABEL_PATTERN.test(label)) {
    const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
    throw new DomainError(
      "BAD_USER_INPUT",
      `Invalid label "${shown}": labels are 1 to ${MAX_LABEL_LENGTH} characters of a-z, 0-9, space, "_" and "-".`,
      { field, label: shown },
    );
  }
  return label;
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
  return db.$queryRaw<LabelCount[]>`
    SELECT t."label" AS "name", sum(t."conversations")::int AS "conversationCount"
    FROM "LabelTally" t WHERE t."workspaceId" = ${workspaceId}
    GROUP BY t."label" HAVING sum(t."conversations") > 0
    ORDER BY sum(t."conversations") DESC, t."label"`;
}
