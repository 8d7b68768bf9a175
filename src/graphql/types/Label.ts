import { type LabelCount, labelsInUse } from "../../domain/labels.js";
import { builder } from "../builder.js";

const LabelRef = builder.objectRef<LabelCount>("Label").implement({
  description: "A label in use in the workspace.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "The label." }),
    conversationCount: t.exposeInt("conversationCount", { description: "How many conversations carry it." }),
  }),
});

builder.queryFields((t) => ({
  labels: t.field({
    type: [LabelRef],
    description: "Labels in use, most used first, with their conversation counts.",
    resolve: (_root, _args, ctx) => labelsInUse(ctx.db.prisma, ctx.viewer.workspaceId),
  }),
}));
