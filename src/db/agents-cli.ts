import { parseArgs } from "node:util";
import { z } from "zod";
import { createAgent, createWorkspace, updateAgent } from "../domain/agents.js";
import { DomainError } from "../domain/errors.js";
import { AgentRole } from "../generated/prisma/enums.js";
import { failCommand, openForCommand } from "./command.js";
import { migrate } from "./migrate.js";

// `npm run workspace` and `npm run agent`: the first workspace and its admin on a database
// without demo data, and the agents after them (the API has no mutations for either). What was
// made or changed goes to stdout as JSON; what to do next, to stderr.
const USAGE = `usage:
  npm run workspace -- --name <name> --admin-name <name> --admin-email <email>
  npm run agent -- --workspace <wsp_id> --name <name> --email <email> [--role VIEWER|AGENT|ADMIN]
  npm run agent -- --agent <agt_id> [--role VIEWER|AGENT|ADMIN] [--deactivate | --activate]`;

function usage(problem?: string): never {
  console.error(problem ? `${problem}\n${USAGE}` : USAGE);
  process.exit(64);
}

const [command, ...rest] = process.argv.slice(2);
if (command !== "workspace" && command !== "agent") usage();
const { values } = (() => {
  try {
    return parseArgs({
      args: rest,
      options: {
        name: { type: "string" },
        "admin-name": { type: "string" },
        "admin-email": { type: "string" },
        workspace: { type: "string" },
        email: { type: "string" },
        agent: { type: "string" },
        role: { type: "string" },
        deactivate: { type: "boolean" },
        activate: { type: "boolean" },
      },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
})();
const role = values.role === undefined ? undefined : z.enum(AgentRole).safeParse(values.role.toUpperCase()).data;
if (values.role !== undefined && !role) usage("--role must be VIEWER, AGENT or ADMIN");
if (values.activate && values.deactivate) usage("--activate or --deactivate, not both");
if (command === "workspace" && !(values.name && values["admin-name"] && values["admin-email"])) usage("--name, --admin-name and --admin-email are required");
if (command === "agent" && !values.agent && !(values.workspace && values.name && values.email)) {
  usage("--workspace, --name and --email are required (or --agent to change one)");
}

const { config, db } = await openForCommand();
let exitCode = 0;
try {
  await migrate(db);
  if (command === "workspace") {
    const { workspace, admin } = await createWorkspace(db.prisma, { name: values.name!, admin: { name: values["admin-name"]!, email: values["admin-email"]! } });
    console.log(JSON.stringify({ workspaceId: workspace.id, adminId: admin.id }));
    console.error(`Created ${workspace.name} (${workspace.id}) with its admin ${admin.name} (${admin.id}). A token: npm run -s token -- --agent ${admin.id}`);
  } else if (values.agent) {
    const agent = await updateAgent(db.prisma, { agentId: values.agent, role, active: values.activate ? true : values.deactivate ? false : undefined });
    console.log(JSON.stringify(agent));
    console.error(`${agent.name} (${agent.id}) is now ${agent.active ? "" : "inactive, "}${agent.role}; tokens follow within AGENT_RECHECK_MS.`);
  } else {
    const agent = await createAgent(db.prisma, { workspaceId: values.workspace!, name: values.name!, email: values.email!, role: role ?? "AGENT" });
    console.log(JSON.stringify(agent));
    console.error(`Added ${agent.name} (${agent.id}) as ${agent.role}.`);
  }
} catch (error) {
  if (!(error instanceof DomainError)) await failCommand(db, config, error);
  const refused = error as DomainError;
  console.error(`${refused.code}: ${refused.message}`);
  exitCode = 65;
}
await db.close();
process.exit(exitCode);
