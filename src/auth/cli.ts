import { parseArgs } from "node:util";
import type jwt from "jsonwebtoken";
import { z } from "zod";
import { failCommand, openForCommand } from "../db/command.js";
import { AgentRole } from "../generated/prisma/enums.js";
import { developmentSecret, signAgentToken } from "./tokens.js";

// `npm run token -- --agent agt_… | --role ADMIN [--workspace wsp_…] [--expires 12h]`: prints a
// token for an agent of the database, signed with the gateway's own secret (JWT_SECRET, or the
// development secret in DATA_DIR). Only the token goes to stdout, so `$(npm run -s token …)` works.
const USAGE = "usage: npm run token -- --agent <agt_id> | --role VIEWER|AGENT|ADMIN [--workspace <wsp_id>] [--expires 12h]";

function fail(message: string, code = 64): never {
  console.error(message);
  process.exit(code);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        agent: { type: "string" },
        role: { type: "string" },
        workspace: { type: "string" },
        expires: { type: "string", default: "12h" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.agent === !values.role) fail(USAGE);
const role = values.role === undefined ? undefined : z.enum(AgentRole).safeParse(values.role.toUpperCase()).data;
if (values.role !== undefined && !role) fail(`--role must be VIEWER, AGENT or ADMIN\n${USAGE}`);
if (!/^\d+[smhd]$/.test(values.expires)) fail(`--expires takes a number and a unit (s, m, h or d), e.g. 12h\n${USAGE}`);
const expiresIn = values.expires as jwt.SignOptions["expiresIn"];

// An embedded database a running gateway has open is refused (75): its secret is the one that
// gateway signed the token it printed with; another folder would mean another secret.
const { config, db } = await openForCommand({
  whenInUse: "Use the development token that gateway printed at start (GraphiQL sends it), or stop it and run this again.",
});
if (config.JWT_JWKS_URL || config.JWT_JWKS_FILE) {
  await db.close();
  fail("Tokens are issued by your identity provider when JWT_JWKS_URL or JWT_JWKS_FILE is set; this command signs with JWT_SECRET only.", 78);
}
try {
  const agent = await db.prisma.agent.findFirst({
    where: { active: true, ...(values.agent ? { id: values.agent } : { role }), ...(values.workspace ? { workspaceId: values.workspace } : {}) },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  if (!agent) fail(values.agent ? `No active agent with id ${values.agent}.` : `No active ${role} agent${values.workspace ? ` in ${values.workspace}` : ""}.`, 65);
  // Made only now: a command that finds no agent leaves no development secret behind.
  const secret = config.JWT_SECRET ?? (await developmentSecret(config.DATA_DIR));
  const token = signAgentToken(
    secret,
    { agentId: agent.id, workspaceId: agent.workspaceId, role: agent.role },
    { expiresIn, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE },
  );
  console.error(`Token for ${agent.name} <${agent.email}> (${agent.role}, ${agent.id}, workspace ${agent.workspaceId}), valid ${values.expires}:`);
  console.log(token);
} catch (error) {
  await failCommand(db, config, error);
}
await db.close();
