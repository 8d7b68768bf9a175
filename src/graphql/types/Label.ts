import { builder } from "../builder.js";

interface LabelCount {
  name: string;
  conversationCount: number;
}

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
    resolve: (_root, _args, ctx) =>
      ctx.db.prisma.$queryRaw<LabelCount[]>`
        SELECT label AS "name", count(*)::int AS "conversationCount"
        FROM "Conversation" t, unnest(t."labels") AS label
        WHERE t."workspaceId" = ${ctx.viewer.workspaceId}
        GROUP BY label ORDER BY count(*) DESC, label`,
  }),
}));
