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
