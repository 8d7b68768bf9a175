// The Prisma CLI runs offline only with its WebAssembly engines, which need a driver adapter (its
// Rust engines are downloaded at run time, from a host not every machine reaches). It always talks
// to a throwaway in-memory PGlite: the gateway applies migrations itself (src/db/migrate.ts), so
// the CLI never touches a real database.
process.env.DATABASE_URL ??= "postgresql://localhost/unused";

import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  engine: "js",
  experimental: { adapter: true },
  // Typed against an older driver-adapter-utils; the same protocol at run time (see src/db/client.ts).
  adapter: async () => new PrismaPGlite(new PGlite()) as unknown as SqlMigrationAwareDriverAdapterFactory,
});
