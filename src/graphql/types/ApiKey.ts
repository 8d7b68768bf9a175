import type { ApiKey } from "../../generated/prisma/client.js";
import { MAX_KEY_NAME_LENGTH, createApiKey, revokeApiKey } from "../../domain/api-keys.js";
import { builder } from "../builder.js";
import { writeDeps } from "../context.js";
import { AgentRef } from "./Agent.js";
import { AgentRoleEnum } from "./enums.js";

export const ApiKeyRef = builder.prismaObject("ApiKey", {
  description:
    "A key an integration (such as the system that delivers inbound messages) sends instead of an agent's token: it acts in one workspace, with one role, for no agent.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The key's id (key_…), used to revoke it; not the secret." }),
    name: t.exposeString("name", { description: "What the key is for, as its creator named it." }),
    role: t.expose("role", { type: AgentRoleEnum, description: "What the key may do, as an agent of this role could." }),
    prefix: t.exposeString("prefix", { description: "The secret's first characters, to tell keys apart; the secret itself is shown only once, at creation." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the key was created." }),
    createdBy: t.field({
      type: AgentRef,
      nullable: true,
      description: "The admin who created the key (null when created by another key).",
      resolve: (key, _args, ctx, info) => (key.createdById ? ctx.loaders.agent(info).load(key.createdById) : null),
    }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true, description: "When the key was revoked; a revoked key is refused at once. Null while it works." }),
  }),
});

const CreateApiKeyPayloadRef = builder.objectRef<{ apiKey: ApiKey; secret: string }>("CreateApiKeyPayload").implement({
  description: "A new API key with its secret.",
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, description: "The key as listed from now on.", resolve: (payload) => payload.apiKey }),
    secret: t.exposeString("secret", {
      description: "The secret (igk_…), shown this once: send it as `Authorization: Bearer igk_…` or `x-api-key: igk_…`.",
    }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaField({
    type: [ApiKeyRef],
    authScopes: { admin: true },
    description: "The workspace's API keys, newest first, revoked ones included; never their secrets (ADMIN).",
    resolve: (query, _root, _args, ctx) =>
      ctx.db.prisma.apiKey.findMany({ ...query, where: { workspaceId: ctx.viewer.workspaceId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayloadRef,
    nullable: true,
    authScopes: { admin: true },
    description: "Creates an API key for an integration of this workspace and returns its secret, once (ADMIN).",
    args: {
      name: t.arg.string({ required: true, description: `What the key is for (1 to ${MAX_KEY_NAME_LENGTH} characters).` }),
      role: t.arg({ type: AgentRoleEnum, description: "What the key may do; AGENT (enough to deliver messages) when omitted." }),
    },
    resolve: (_root, args, ctx) => createApiKey(writeDeps(ctx), ctx.viewer, args),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    nullable: true,
    authScopes: { admin: true },
    description: "Revokes an API key: requests carrying it are refused from now on (ADMIN). Revoking a revoked key changes nothing.",
    args: { id: t.arg.id({ required: true, description: "The key's id (key_…)." }) },
    resolve: (_root, args, ctx) => revokeApiKey(writeDeps(ctx), ctx.viewer, args),
  }),
}));
