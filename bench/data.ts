import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { openDatabase, type ScriptSession } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { foldTally, TALLY_TABLES } from "../src/domain/conversation-tallies.js";
import { PREVIEW_LENGTH } from "../src/domain/messages.js";
import { BENCH_WORKSPACE_ID, LABELS } from "./workspace.js";

/**
 * `npm run bench:data`: a realistic workspace at benchmark scale, written with set-based SQL
 * (INSERT … SELECT over generate_series), on PostgreSQL (DATABASE_URL) or PGlite (DATA_DIR).
 * Counters (messageCount, unreadCount, lastMessageAt, lastMessagePreview, the contacts'
 * lastContacted) are computed in SQL from the inserted messages, so they agree with them.
 * Running it again replaces the benchmark workspace; other workspaces are left alone.
 */
const { values: flags } = parseArgs({
  options: {
    contacts: { type: "string", default: "20000" },
    conversations: { type: "string", default: "100000" },
    messages: { type: "string", default: "1000000" },
    agents: { type: "string", default: "50" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log("usage: npm run bench:data -- [--contacts 20000] [--conversations 100000] [--messages 1000000] [--agents 50]");
  console.log("Writes to DATABASE_URL (PostgreSQL) or DATA_DIR (PGlite, default ./data).");
  process.exit(0);
}
const positive = (name: string, raw: string, min: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
  return n;
};
const scale = {
  contacts: positive("contacts", flags.contacts, 1),
  conversations: positive("conversations", flags.conversations, 1),
  messages: positive("messages", flags.messages, 0),
  agents: positive("agents", flags.agents, 2),
};

const config = loadConfig();
// Two connections, both for its own statements: the generating session and the tally folds beside it.
const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2, statementCacheSize: 0 });
const started = performance.now();
const timings: Record<string, number> = {};

async function timed(name: string, run: () => Promise<unknown>) {
  const t0 = performance.now();
  await run();
  timings[name] = Math.round(performance.now() - t0);
  process.stderr.write(`  ${name.padEnd(28)} ${String(timings[name]).padStart(7)} ms\n`);
}

const step = (name: string, session: ScriptSession, sql: string, params: unknown[] = []) => timed(name, () => session.query(sql, params));

try {
  const { applied } = await migrate(db);
  if (applied.length) console.error(`Applied migrations: ${applied.join(", ")}`);
  console.error(`Generating ${JSON.stringify(scale)} into ${db.kind} (${db.location})`);
  await db.withSession(async (s) => {
    const ws = BENCH_WORKSPACE_ID;
    await s.exec("BEGIN");
    // Replaces an earlier benchmark workspace: a database holding nothing else is emptied at
    // once (deleting a million rows leaves them dead until a vacuum); otherwise children first.
    const [{ others }] = await s.query<{ others: number }>(`SELECT count(*)::int AS others FROM "Workspace" WHERE "id" <> $1`, [ws]);
    if (others === 0) {
      await step("truncate", s, `TRUNCATE "Workspace" CASCADE`);
    } else {
      for (const table of ["ConversationActivity", "Message", "Conversation", "Contact", "ApiKey", "Agent"]) {
        await step(`delete old ${table}`, s, `DELETE FROM "${table}" WHERE "workspaceId" = $1`, [ws]);
      }
      await step("delete old workspace", s, `DELETE FROM "Workspace" WHERE "id" = $1`, [ws]);
    }
    await s.query(`INSERT INTO "Workspace" ("id", "name", "createdAt") VALUES ($1, 'Benchmark Support', now() - interval '400 days')`, [ws]);
    // Same data for the same scale on every run.
    await s.query(`SELECT setseed(0.20261125)`);

    // Agent 1 is the admin the benchmark signs its token for; the rest are agents.
    await step(
      "agents",
      s,
      `INSERT INTO "Agent" ("id", "workspaceId", "name", "email", "role", "active", "createdAt", "updatedAt")
       SELECT 'agt_bench' || lpad(n::text, 8, '0'), $1, 'Agent ' || n, 'agent' || n || '@bench.example',
         CAST(CASE WHEN n = 1 THEN 'ADMIN' ELSE 'AGENT' END AS "AgentRole"), true,
         now() - interval '400 days', now() - interval '400 days'
       FROM generate_series(1, $2::int) n`,
      [ws, scale.agents],
    );

    await step(
      "contacts",
      s,
      `INSERT INTO "Contact" ("id", "workspaceId", "phone", "email", "firstName", "lastName", "fullName",
         "preferredChannel", "metadata", "status", "createdAt", "updatedAt")
       SELECT 'cnt_' || substr(md5('bench:contact:' || n), 1, 16), $1,
         CASE WHEN random() < 0.85 THEN '+351' || (910000000 + n) END,
         CASE WHEN random() < 0.8 THEN 'contact' || n || '@example.com' END,
         f.first, f.last, f.first || coalesce(' ' || f.last, ''),
         (ARRAY['WHATSAPP','INSTAGRAM','SMS','EMAIL']::"Channel"[])[1 + floor(random() * 4)::int],
         CASE WHEN random() < 0.6 THEN jsonb_build_object('customer_id', 'cust_' || n, 'tier', (ARRAY['free','standard','premium'])[1 + floor(random() * 3)::int]) ELSE '{}'::jsonb END,
         CAST(CASE WHEN random() < 0.9 THEN 'ACTIVE' WHEN random() < 0.5 THEN 'INACTIVE' ELSE 'DELETED' END AS "ContactStatus"),
         now() - interval '400 days' + random() * interval '300 days', now() - interval '90 days'
       FROM generate_series(1, $2::int) n
       CROSS JOIN LATERAL (SELECT
         (ARRAY['Maria','John','Aisha','Wei','Lucas','Sofia','Omar','Emma','Yuki','Carlos','Fatima','Noah','Priya','Liam','Chloe','Mateo','Zara','Ivan','Amara','Felix'])[1 + (n * 7) % 20] AS first,
         (ARRAY['Garcia','Smith','Khan','Zhang','Silva','Rossi','Haddad','Müller','Tanaka','Lopez','Nguyen','Okafor','Patel','Brown','Dubois','Kowalski',NULL])[1 + (n * 13) % 17] AS last) f`,
      [ws, scale.contacts],
    );

    // The plan of each conversation, kept for the messages: its number n, when it started, its
    // status, and how many messages it gets. Conversation n's messages are the increments of
    // floor(M·f(n/C)) with f(x) = 0.7x² + 0.3x⁶: the total is exactly --messages, a few percent
    // have none, most have around the mean, and a long tail (1-2%) has over three times it.
    await step(
      "conversation plan",
      s,
      `CREATE TEMP TABLE bench_conv ON COMMIT DROP AS
       SELECT n, 'conv_' || substr(md5('bench:conversation:' || n), 1, 16) AS id,
         'cnt_' || substr(md5('bench:contact:' || (1 + (n * 7919) % $1::int)), 1, 16) AS contact_id,
         now() - random() * interval '60 days' AS started_at,
         CAST(CASE WHEN r < 0.55 THEN 'OPEN' WHEN r < 0.85 THEN 'CLOSED' ELSE 'ARCHIVED' END AS "ConversationStatus") AS status,
         CASE WHEN random() < 0.7 THEN 'agt_bench' || lpad((1 + floor(random() * $2::int))::text, 8, '0') END AS assigned_to_id,
         (floor($3::float8 * (0.7 * (n / $4::float8) ^ 2 + 0.3 * (n / $4::float8) ^ 6))
           - floor($3::float8 * (0.7 * ((n - 1) / $4::float8) ^ 2 + 0.3 * ((n - 1) / $4::float8) ^ 6)))::int AS message_total,
         floor(random() * 7)::int AS topic
       FROM (SELECT n, random() AS r FROM generate_series(1, $4::int) n) g`,
      [scale.contacts, scale.agents, scale.messages, scale.conversations],
    );

    const labelCases = LABELS.map((l) => `CASE WHEN random() < ${l.share} THEN '${l.name}' END`).join(", ");
    await step(
      "conversations",
      s,
      `INSERT INTO "Conversation" ("id", "workspaceId", "contactId", "channel", "subject", "status", "priority",
         "assignedToId", "labels", "tags", "createdAt", "updatedAt")
       SELECT c.id, $1, c.contact_id,
         (ARRAY['WHATSAPP','INSTAGRAM','SMS','EMAIL']::"Channel"[])[1 + floor(random() * 4)::int],
         (ARRAY['Order status inquiry','Refund request','Payment failed','Account access','Product question','Bug report: app crashes','Wholesale pricing'])[1 + c.topic],
         c.status,
         CASE WHEN random() < 0.25 THEN NULL ELSE (ARRAY['LOW','MEDIUM','HIGH']::"ConversationPriority"[])[1 + floor(random() * 3)::int] END,
         c.assigned_to_id,
         array_remove(ARRAY[${labelCases}]::text[], NULL),
         array_remove(ARRAY[CASE WHEN random() < 0.2 THEN 'web' END, CASE WHEN random() < 0.15 THEN 'mobile-app' END, CASE WHEN random() < 0.1 THEN 'follow-up' END]::text[], NULL),
         c.started_at, c.started_at
       FROM bench_conv c`,
      [ws],
    );

    // Message j of a conversation comes 1 to 3 hours after message j-1 (never in the future);
    // the first is the contact's, later ones are inbound a little over half of the time; an
    // outbound reply is sent by the assignee (or agent 2).
    await step(
      "messages",
      s,
      `INSERT INTO "Message" ("id", "workspaceId", "conversationId", "direction", "body", "externalId", "senderId", "createdAt")
       SELECT 'msg_' || substr(md5('bench:message:' || c.n || ':' || j), 1, 16), $1, c.id, m.direction,
         CASE WHEN m.direction = 'INBOUND'
           THEN (ARRAY['Hi, where is my order? It was due yesterday.', 'I''d like a refund, the size was wrong.', 'My card was declined but I was charged?', 'I can''t log in, the reset email never arrives.', 'Is the blue jacket waterproof?', 'The app crashes when I open my cart.', 'Do you offer wholesale prices for 200+ units?'])[1 + c.topic]
             || ' (' || j || ')'
           ELSE (ARRAY['Thanks for reaching out! Let me check that for you.', 'Sorry about that!   I''ve started the return.', 'The first charge was an authorisation hold; it disappears within 3 days.', 'I''ve resent the reset link; please check your spam folder too.', 'Yes, it''s rated 10,000 mm waterproof.', 'Thanks for the details! Our team is looking into it.', 'We do! I''ll send our wholesale catalogue by email.'])[1 + c.topic]
         END,
         CASE WHEN m.direction = 'INBOUND' THEN 'bench-' || c.n || '-' || j END,
         CASE WHEN m.direction = 'OUTBOUND' THEN coalesce(c.assigned_to_id, 'agt_bench00000002') END,
         least(now(), c.started_at + j * interval '2 hours' + random() * interval '1 hour')
       FROM bench_conv c
       CROSS JOIN LATERAL generate_series(1, c.message_total) j
       CROSS JOIN LATERAL (SELECT CAST(CASE WHEN j = 1 OR random() < 0.55 THEN 'INBOUND' ELSE 'OUTBOUND' END AS "MessageDirection") AS direction) m`,
      [ws],
    );

    // Counters from the messages just written: unread are the inbound messages after the last
    // reply, in open conversations only (closing one reads it, as the seed does).
    await step(
      "conversation counters",
      s,
      `WITH per AS (
         SELECT m."conversationId" AS id, count(*)::int AS total, max(m."createdAt") AS last_at,
           max(m."createdAt") FILTER (WHERE m."direction" = 'OUTBOUND') AS last_reply
         FROM "Message" m WHERE m."workspaceId" = $1 GROUP BY 1
       ), unread AS (
         SELECT p.id, count(*) FILTER (WHERE m."direction" = 'INBOUND' AND m."createdAt" > coalesce(p.last_reply, '-infinity'))::int AS n
         FROM per p JOIN "Message" m ON m."conversationId" = p.id GROUP BY p.id
       ), last AS (
         SELECT DISTINCT ON (m."conversationId") m."conversationId" AS id, m."id" AS message_id, m."body"
         FROM "Message" m WHERE m."workspaceId" = $1
         ORDER BY m."conversationId", m."createdAt" DESC, m."id" DESC
       )
       UPDATE "Conversation" t SET
         "messageCount" = per.total,
         "unreadCount" = CASE WHEN t."status" = 'OPEN' THEN unread.n ELSE 0 END,
         "lastMessageAt" = per.last_at,
         "lastMessagePreview" = left(btrim(regexp_replace(last."body", '\\s+', ' ', 'g')), ${PREVIEW_LENGTH}),
         "lastMessageId" = last.message_id,
         "updatedAt" = greatest(t."createdAt", per.last_at)
       FROM per JOIN unread ON unread.id = per.id JOIN last ON last.id = per.id
       WHERE t."id" = per.id`,
      [ws],
    );

    await step(
      "contact lastContacted",
      s,
      `UPDATE "Contact" k SET "lastContacted" = x.last_in
       FROM (SELECT c."contactId" AS id, max(m."createdAt") AS last_in
             FROM "Message" m JOIN "Conversation" c ON c."id" = m."conversationId"
             WHERE m."workspaceId" = $1 AND m."direction" = 'INBOUND' GROUP BY 1) x
       WHERE k."id" = x.id`,
      [ws],
    );

    await step(
      "activity (CREATED)",
      s,
      `INSERT INTO "ConversationActivity" ("id", "workspaceId", "conversationId", "type", "actorId", "from", "to", "createdAt")
       SELECT 'act_' || substr(md5('bench:activity:' || c.n), 1, 16), $1, c.id, 'CREATED', 'agt_bench00000001', NULL,
         jsonb_build_object('status', c.status), c.started_at
       FROM bench_conv c`,
      [ws],
    );
    await s.exec("COMMIT");
    // The trigger left a row of deltas per inserted and updated conversation: fold them now, as
    // a running gateway would within seconds, so the first counts read the folded rows.
    await timed("fold tallies", () => Promise.all(TALLY_TABLES.map((tally) => foldTally(db.prisma, tally, 0n))));
    // Fresh bulk data has no planner statistics, and the counters' UPDATE left a dead version of
    // every conversation, until autovacuum reaches them; index-only scans need the visibility map.
    await step("vacuum analyze", s, "VACUUM ANALYZE");
  });

  const [counts] = await db.withSession((s) =>
    s.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM "Agent" WHERE "workspaceId" = $1) AS agents,
              (SELECT count(*)::int FROM "Contact" WHERE "workspaceId" = $1) AS contacts,
              (SELECT count(*)::int FROM "Conversation" WHERE "workspaceId" = $1) AS conversations,
              (SELECT count(*)::int FROM "Message" WHERE "workspaceId" = $1) AS messages,
              (SELECT count(*)::int FROM "Conversation" WHERE "workspaceId" = $1 AND 'billing' = ANY("labels")) AS billing`,
      [BENCH_WORKSPACE_ID],
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ database: db.kind, workspaceId: BENCH_WORKSPACE_ID, ...counts, seconds: Number(seconds.toFixed(1)), stepsMs: timings }));
  console.error(`Generated in ${seconds.toFixed(1)} s.`);
} finally {
  await db.close();
}
