import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { schema } from "./schema.js";
import { writeOrCheck } from "./write-or-check.js";

// `npm run schema` writes schema.graphql; `npm run schema:check` fails when it is stale.
await writeOrCheck(fileURLToPath(new URL("../../schema.graphql", import.meta.url)), `${printSchema(schema)}\n`, "npm run schema");
