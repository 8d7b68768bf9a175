import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { parse, print } from "graphql";

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const folder = new URL("./operations/", import.meta.url);

/**
 * The operations shipped in src/graphql/operations/*.graphql (the dashboard's, also used by tests;
 * the benchmark has its own, the issue's scenarios, in bench/operations) as a trusted-documents
 * manifest: sha256 of the printed document → document.
 */
export function shippedOperations(): Record<string, string> {
  const files = readdirSync(folder).filter((name) => name.endsWith(".graphql")).sort();
  const entries = files.map((name) => {
    // Printed, so comments and formatting do not change the hash clients compute.
    const document = print(parse(readFileSync(new URL(name, folder), "utf8")));
    return [sha256(document), document] as const;
  });
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

/** The operation names a document text defines. */
export function operationNames(document: string): string[] {
  return parse(document).definitions.flatMap((d) => (d.kind === "OperationDefinition" && d.name ? [d.name.value] : []));
}
