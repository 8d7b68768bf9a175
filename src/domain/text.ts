import { z } from "zod";
import { badInput } from "./errors.js";

// The contract's limits are in characters, as PostgreSQL counts them (code points). JavaScript's
// `length` and `slice` count UTF-16 units: an emoji is two, and a cut between them leaves a lone
// surrogate that PostgreSQL refuses and UTF-8 cannot encode. A string's iterator yields code points.

/** The number of characters (code points) in `text`. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** The first `limit` characters of `text`, never half of one. */
export function firstCharacters(text: string, limit: number): string {
  let end = 0;
  let count = 0;
  for (const character of text) {
    if (count++ === limit) break;
    end += character.length;
  }
  return text.slice(0, end);
}

/** The argument a field path ends in, as a message names it ("input.firstName" → "firstName"). */
const argumentOf = (field: string) => field.slice(field.lastIndexOf(".") + 1);

/** A text input that must be given: trimmed, 1 to `max` characters, or BAD_USER_INPUT naming `field`. */
export function requiredText(value: string, field: string, max: number): string {
  const text = value.trim();
  if (!text || characterCount(text) > max) throw badInput(field, `${argumentOf(field)} must be 1 to ${max} characters.`);
  return text;
}

/** A text input that may be left out: trimmed, at most `max` characters; blank is null. */
export function optionalText(value: string | null, field: string, max: number): string | null {
  const text = value?.trim() || null;
  if (text && characterCount(text) > max) throw badInput(field, `${argumentOf(field)} is at most ${max} characters.`);
  return text;
}

// The scalar EmailAddress's own rule (graphql-scalars): the HTML standard's valid e-mail address,
// so the command line takes the addresses the API takes.
const EMAIL = z.email({ pattern: z.regexes.html5Email });

/** An e-mail address as stored: trimmed and lower-cased, so that lookups and uniqueness ignore case. */
export function normalizeEmail(value: string, field: string): string {
  const email = value.trim().toLowerCase();
  if (!EMAIL.safeParse(email).success) throw badInput(field, `${argumentOf(field)} must be an email address.`);
  return email;
}
