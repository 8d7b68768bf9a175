import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { schema } from "./schema.js";

// `npm run schema` writes schema.graphql; `npm run schema:check` fails when it is stale.
const target = fileURLToPath(new URL("../../schema.graphql", import.meta.url));
const printed = `${printSchema(schema)}\n`;

if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== printed) {
    console.error("schema.graphql is stale: run `npm run schema` and commit it.");
    process.exit(1);
  }
  console.log("schema.graphql is up to date.");
} else {
  await writeFile(target, printed);
  console.log(`Wrote ${target}`);
}
