import { failCommand, openForCommand } from "./command.js";
import { migrate } from "./migrate.js";
import { seedDemoWorkspaceOnce } from "./seed.js";

// `npm run db:migrate` and `npm run db:seed`: the code the gateway runs at start, on demand.
const command = process.argv[2];
if (command !== "migrate" && command !== "seed") {
  console.error("usage: tsx src/db/cli.ts migrate|seed");
  process.exit(64);
}
const { config, db } = await openForCommand();
try {
  const { applied } = await migrate(db);
  console.log(applied.length ? `Applied ${applied.join(", ")}` : "Migrations are up to date.");
  if (command === "seed") {
    const seeded = await seedDemoWorkspaceOnce(db.prisma);
    console.log(seeded ? `Seeded ${JSON.stringify(seeded)}` : "The demo workspace is already there; nothing seeded.");
  }
} catch (error) {
  await failCommand(db, config, error);
}
await db.close();
