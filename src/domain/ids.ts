import { createHash, randomBytes } from "node:crypto";
import { DomainError } from "./errors.js";

/** Type prefixes of the contract's ids; `node(id:)` dispatches on them. */
const ID_PREFIXES = {
  workspace: "wsp",
  agent: "agt",
  contact: "cnt",
  conversation: "conv",
  message: "msg",
  activity: "act",
  apiKey: "key",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
const SUFFIX_LENGTH = 16;
const ID_PATTERN = /^([a-z]+)_([0-9a-z]{12,64})$/;

function encode(bytes: Uint8Array): string {
  let text = "";
  // 256 % 36 leaves a slight bias towards the first characters; ids need uniqueness, not uniformity.
  for (const byte of bytes) text += ALPHABET[byte % ALPHABET.length];
  return text;
}

function idFromBytes(kind: IdKind, bytes: Uint8Array): string {
  return `${ID_PREFIXES[kind]}_${encode(bytes.subarray(0, SUFFIX_LENGTH))}`;
}

// A new id starts with its creation time in base-36 milliseconds (9 characters last until the
// year 5138), so ids sort by when they were made: lists break ties on id, and of two messages
// stamped with the same second, as channels stamp them, the one received later then lists later,
// as it wins the preview. The other 7 characters are random.
const TIME_LENGTH = 9;

export function newId(kind: IdKind): string {
  const time = Date.now().toString(36).padStart(TIME_LENGTH, "0");
  return `${ID_PREFIXES[kind]}_${time}${encode(randomBytes(SUFFIX_LENGTH - TIME_LENGTH))}`;
}

/**
 * Reproducible ids for generated data: the n-th id of each kind depends only on the seed and n,
 * so demo data built from the same seed has the same ids (docs can name them), whatever else
 * it contains.
 */
export function seededIds(seed: number): (kind: IdKind) => string {
  const counters = new Map<IdKind, number>();
  return (kind) => {
    const n = counters.get(kind) ?? 0;
    counters.set(kind, n + 1);
    return idFromBytes(kind, createHash("sha256").update(`${seed}:${kind}:${n}`).digest());
  };
}

/** The kind of a well-formed id, or null when it has no known prefix or the wrong shape. */
export function idKind(id: string): IdKind | null {
  const match = ID_PATTERN.exec(id);
  if (!match) return null;
  const entry = Object.entries(ID_PREFIXES).find(([, prefix]) => prefix === match[1]);
  return entry ? (entry[0] as IdKind) : null;
}

/** Checks that `id` is a well-formed id of `kind`, or fails with BAD_USER_INPUT naming `field`. */
export function requireId(id: string, kind: IdKind, field = "id"): string {
  if (idKind(id) !== kind) {
    throw new DomainError("BAD_USER_INPUT", `"${field}" must be an id of the form ${ID_PREFIXES[kind]}_ followed by 12 to 64 lowercase letters and digits.`, { field });
  }
  return id;
}
