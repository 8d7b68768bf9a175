import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";
import type { Join } from "../domain/joins.js";
import { Prisma } from "../generated/prisma/client.js";

/** The tables whose reads select only the columns a query needs. */
export type Model = "Contact" | "Agent" | "Conversation" | "Message" | "ConversationActivity";

const COLUMNS: Record<Model, readonly string[]> = {
  Contact: Object.values(Prisma.ContactScalarFieldEnum),
  Agent: Object.values(Prisma.AgentScalarFieldEnum),
  Conversation: Object.values(Prisma.ConversationScalarFieldEnum),
  Message: Object.values(Prisma.MessageScalarFieldEnum),
  ConversationActivity: Object.values(Prisma.ConversationActivityScalarFieldEnum),
};

// To-one relations a read of the model takes in its own statement (domain/joins.ts): the field,
// the model it shows and the column holding its id. Their loaders are then primed with the rows.
const JOINABLE: Partial<Record<Model, Record<string, { model: Model; foreignKey: string }>>> = {
  Conversation: { contact: { model: "Contact", foreignKey: "contactId" }, assignedTo: { model: "Agent", foreignKey: "assignedToId" } },
  Message: { sender: { model: "Agent", foreignKey: "senderId" } },
  ConversationActivity: { actor: { model: "Agent", foreignKey: "actorId" } },
};

// Other GraphQL fields that are not a column of the same name, and the columns they read (a
// joinable relation reads its foreign key). test/column-pruning.test.ts fails for a field that
// reads a column it does not declare here.
const NEEDS: Partial<Record<Model, Record<string, readonly string[]>>> = {
  Contact: { fullName: ["fullName", "firstName", "lastName"] },
  Message: { conversation: ["conversationId"] },
};

const columnsOfField = (model: Model, name: string): readonly string[] => {
  const joinable = JOINABLE[model]?.[name];
  return NEEDS[model]?.[name] ?? (joinable ? [joinable.foreignKey] : [name]);
};

export const allColumns = (model: Model): readonly string[] => COLUMNS[model];

/** Where a connection's records sit below it. */
export const EDGE_NODE = ["edges", "node"] as const;

/**
 * The columns of `model` that resolving the current field's selection reads (at `path` below
 * it, e.g. ["edges", "node"] for a connection), always with "id". Fragments count; directives do
 * not (@skip/@include only make the read wider). Sorted, so equal selections give equal lists.
 * Each column costs the gateway per row: reading 6 columns of 50 contacts instead of all 13 takes
 * 40% of the CPU (bench/README.md).
 */
export function columnsFor(model: Model, info: GraphQLResolveInfo, path: readonly string[] = []): string[] {
  return once(info, `columns:${model}/${path.join("/")}`, () => selectedColumns(model, info, path));
}

/**
 * The joinable relations of `model` selected at `path`, each with the columns its own field
 * would ask its loader for: the read takes them with its rows, and the loaders they prime answer
 * the relation fields without a statement of their own.
 */
export function joinsFor(model: Model, info: GraphQLResolveInfo, path: readonly string[] = []): Join[] {
  const joinable = JOINABLE[model];
  if (!joinable) return [];
  return once(info, `joins:${model}/${path.join("/")}`, () => {
    const names = selectedNames(info, path);
    return Object.entries(joinable)
      .filter(([field]) => names.has(field))
      .map(([field, { model: target, foreignKey }]) => ({ field, table: target, foreignKey, columns: columnsFor(target, info, [...path, field]) }));
  });
}

// Every row of a list resolves the same field nodes: work each answer out once per field.
const memo = new WeakMap<GraphQLResolveInfo["fieldNodes"], Map<string, unknown>>();

function once<T>(info: GraphQLResolveInfo, key: string, compute: () => T): T {
  let known = memo.get(info.fieldNodes);
  if (!known) memo.set(info.fieldNodes, (known = new Map()));
  if (!known.has(key)) known.set(key, compute());
  return known.get(key) as T;
}

function selectedColumns(model: Model, info: GraphQLResolveInfo, path: readonly string[]): string[] {
  const columns = new Set(["id"]);
  const exists = new Set(COLUMNS[model]);
  for (const name of selectedNames(info, path)) {
    for (const column of columnsOfField(model, name)) if (exists.has(column)) columns.add(column);
  }
  return [...columns].sort();
}

/** The names of the fields selected at `path` below the current field. */
function selectedNames(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  const names = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, depth: number) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (depth === path.length) names.add(selection.name.value);
        else if (selection.name.value === path[depth]) visit(selection.selectionSet, depth + 1);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, depth);
      } else {
        visit(info.fragments[selection.name.value]?.selectionSet, depth);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet, 0);
  return names;
}
