import type { GraphQLResolveInfo } from "graphql";
import { idKind } from "../../domain/ids.js";
import { DomainError } from "../../domain/errors.js";
import { builder } from "../builder.js";
import type { GraphQLContext } from "../context.js";
import { AgentRef } from "./Agent.js";
import { ContactRef } from "./Contact.js";
import { ConversationRef } from "./Conversation.js";
import { ConversationActivityRef } from "./ConversationActivity.js";
import { MessageRef } from "./Message.js";

const MAX_NODES = 100;

/** Loads any record by id through the workspace-scoped loaders; another workspace's id is null. */
async function loadNode(id: string, ctx: GraphQLContext, info: GraphQLResolveInfo, field: string) {
  // The brand tells the Node interface which type a record is.
  const branded = <T extends object>(ref: { addBrand(value: T): T }, record: T | null) => (record ? ref.addBrand(record) : null);
  switch (idKind(id)) {
    case "conversation":
      return branded(ConversationRef, await ctx.loaders.conversation(info).load(id));
    case "contact":
      return branded(ContactRef, await ctx.loaders.contact(info).load(id));
    case "agent":
      return branded(AgentRef, await ctx.loaders.agent(info).load(id));
    case "message":
      return branded(MessageRef, await ctx.loaders.message(info).load(id));
    case "activity":
      return branded(ConversationActivityRef, await ctx.loaders.activity(info).load(id));
    // Not Node types of the schema.
    case "workspace":
    case "apiKey":
      return null;
    case null:
      throw new DomainError("BAD_USER_INPUT", `"${field}" is not a well-formed id.`, { field });
  }
}

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description: "Any record by id (conversation, contact, agent, message or activity entry); null when there is none in your workspace.",
    args: { id: t.arg.id({ required: true, description: "A record id; its prefix says its type." }) },
    resolve: (_root, { id }, ctx, info) => loadNode(id, ctx, info, "id"),
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    description: `Records by id, in the order asked (at most ${MAX_NODES}); null for each that is not in your workspace.`,
    args: { ids: t.arg.idList({ required: true, description: "Record ids." }) },
    resolve: (_root, { ids }, ctx, info) => {
      if (ids.length > MAX_NODES) throw new DomainError("BAD_USER_INPUT", `"ids" takes at most ${MAX_NODES} ids.`, { field: "ids" });
      // Each entry on its own: a malformed id is an error at its own index, the others still load.
      return ids.map((id, i) => loadNode(id, ctx, info, `ids.${i}`));
    },
  }),
}));
