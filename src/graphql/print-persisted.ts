import { fileURLToPath } from "node:url";
import { shippedOperations } from "./operations.js";
import { writeOrCheck } from "./write-or-check.js";

// `npm run persisted` writes the manifest of the shipped operations (a file PERSISTED_OPERATIONS
// can point at); `npm run persisted -- --check` fails when it is stale.
await writeOrCheck(
  fileURLToPath(new URL("./operations/persisted-documents.json", import.meta.url)),
  `${JSON.stringify(shippedOperations(), null, 2)}\n`,
  "npm run persisted",
);
