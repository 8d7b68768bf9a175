import { type Config, loadConfig } from "../config.js";
import { exitOnStartupFailure } from "../startup-failure.js";
import { openDatabase } from "./client.js";
import { migrate } from "./migrate.js";
import { demoWorkspaceExists, seedDemoData } from "./seed.js";

// `npm run db:migrate` and `npm run db:seed`: the code the gateway runs at start, on demand.
const command = process.argv[2];
if (command !== "migrate" && command !== "seed") {
  console.error("usage: tsx src/db/cli.ts migrate|seed");
  process.exit(64);
}
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  exitOnStartupFailure(error);
}
const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 }).catch((error: unknown) =>
  exitOnStartupFailure(error, { databaseUrl: config.DATABASE_URL }),
);
try {
  const { applied } = await migrate(db);
  console.log(applied.length ? `Applied ${applied.join(", ")}` : "Migrations are up to date.");
  if (command === "seed") {
    console.log((await demoWorkspaceExists(db.prisma)) ? "The demo workspace is already there; nothing seeded." : ["Seeded", JSON.stringify(await seedDemoData(db.prisma))].join(" "));
  }
} catch (error) {
  // PostgreSQL is first reached here: a wrong DATABASE_URL is said plainly.
  await db.close();
  exitOnStartupFailure(error, { databaseUrl: config.DATABASE_URL });
}
await db.close();
