import { builder } from "../builder.js";
import { AgentRoleEnum } from "./enums.js";

export const AgentRef = builder.prismaObject("Agent", {
  description: "A member of the support team who handles conversations.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.exposeID("id", { description: "The agent's id (agt_…)." }),
    name: t.exposeString("name", { description: "Display name." }),
    email: t.exposeString("email", { description: "Work email address." }),
    role: t.expose("role", { type: AgentRoleEnum, description: "What the agent may do." }),
    active: t.exposeBoolean("active", { description: "Inactive agents keep their history but cannot be assigned." }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: AgentRef,
    nullable: true,
    description: "The agent making the request (null for an API key, which acts for no agent).",
    resolve: (_root, _args, ctx, info) => (ctx.viewer.agentId ? ctx.loaders.agent(info).load(ctx.viewer.agentId) : null),
  }),
  agents: t.prismaField({
    type: [AgentRef],
    description: "The workspace's agents, by name.",
    resolve: (query, _root, _args, ctx) =>
      ctx.db.prisma.agent.findMany({ ...query, where: { workspaceId: ctx.viewer.workspaceId }, orderBy: [{ name: "asc" }, { id: "asc" }] }),
  }),
}));
