import { EnvelopArmor } from "@escape.tech/graphql-armor";
import {
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionNode,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../domain/paging.js";

// graphql-armor throws the first limit it finds out of validation; reported like any validation
// error instead, every exceeded limit is listed. Its messages start "Syntax Error: ", which they are not.
const reported = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { nodes: error.nodes, extensions: error.extensions })),
  ],
};

const TOO_COMPLEX = "The document is too complex to validate: it repeats or overlaps selections too many times.";

const LARGEST_PAGES = Symbol("every list at its largest page");

// graphql-armor's cost weights, which the README's figures are in.
const SCALAR_COST = 1;
const OBJECT_COST = 2;
const DEPTH_FACTOR = 1.5;

/**
 * The estimated cost of the operation a request runs, by graphql-armor's formula (1 per scalar
 * field, 2 per object field, each level weighing 1.5 times the one above, a fragment a level of
 * its own, introspection's __schema free), with each list multiplied by the page it really gets:
 * its `first`/`last` as a literal or a variable, else the default page size. graphql-armor's own
 * cost limit reads literals only and counts a variable or an absent `first` as 1. With "largest
 * pages", every list counts as MAX_PAGE_SIZE, whatever the variables. Null when the operation or
 * its variables cannot run anyway (execution refuses them).
 */
function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: unknown,
): number | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const largest = variables === LARGEST_PAGES;
  const coerced = largest ? null : getVariableValues(schema, operation.variableDefinitions ?? [], (variables ?? {}) as Record<string, unknown>);
  if (coerced?.errors) return null;
  const fragmentCosts = new Map<string, number>();

  const selections = (set: SelectionSetNode, parent: GraphQLNamedType | undefined) =>
    set.selections.reduce((sum, selection) => sum + costOf(selection, parent), 0);
  const nested = (set: SelectionSetNode, parent: GraphQLNamedType | undefined) => OBJECT_COST + DEPTH_FACTOR * selections(set, parent);
  const typeNamed = (name: string) => schema.getType(name) ?? undefined;

  function costOf(node: SelectionNode, parent: GraphQLNamedType | undefined): number {
    if (node.kind === Kind.INLINE_FRAGMENT) return nested(node.selectionSet, node.typeCondition ? typeNamed(node.typeCondition.name.value) : parent);
    if (node.kind === Kind.FRAGMENT_SPREAD) {
      const name = node.name.value;
      // Once per fragment, however often it is spread: validation has ruled out cycles.
      let fragmentCost = fragmentCosts.get(name);
      if (fragmentCost === undefined) {
        const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === name);
        fragmentCost = fragment?.kind === Kind.FRAGMENT_DEFINITION ? nested(fragment.selectionSet, typeNamed(fragment.typeCondition.name.value)) : 0;
        fragmentCosts.set(name, fragmentCost);
      }
      return SCALAR_COST + DEPTH_FACTOR * fragmentCost;
    }
    if (node.name.value === "__schema") return 0;
    if (!node.selectionSet) return SCALAR_COST;
    const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[node.name.value] : undefined;
    let pageSize = 1;
    if (field?.args.some((arg) => arg.name === "first" || arg.name === "last")) {
      if (!coerced) pageSize = MAX_PAGE_SIZE;
      else {
        const { first, last } = getArgumentValues(field, node, coerced.coerced) as { first?: number | null; last?: number | null };
        // A connection without first or last returns the default page (src/domain/paging.ts).
        pageSize = Math.max(first ?? last ?? DEFAULT_PAGE_SIZE, 1);
      }
    }
    return pageSize * nested(node.selectionSet, field && getNamedType(field.type));
  }

  return selections(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined);
}

/**
 * Limits on the GraphQL document itself, checked before any resolver runs: token count, depth,
 * aliases and directives (graphql-armor, while parsing and validating), an estimated cost (once
 * the variables are known, see operationCost), plus introspection, which tells a stranger the
 * schema. A refused document gets BAD_USER_INPUT with the limit and the document's figure in the
 * message.
 */
export function useOperationLimits(config: Config): Plugin {
  const armor = new EnvelopArmor({
    // Counted while parsing, before a validation context exists: this one throws.
    maxTokens: { n: config.GRAPHQL_MAX_TOKENS },
    maxDepth: { n: config.GRAPHQL_MAX_DEPTH, ...reported },
    maxAliases: { n: config.GRAPHQL_MAX_ALIASES, ...reported },
    maxDirectives: { n: config.GRAPHQL_MAX_DIRECTIVES, ...reported },
    // Replaced by the check below, which sees the variables.
    costLimit: { enabled: false },
    // Its suggestion filter knows only `Did you mean "x"?` of validation: src/graphql/errors.ts
    // (ErrorPolicy) leaves out every kind, variables' too.
    blockFieldSuggestion: { enabled: false },
  }).protect();

  // In onExecute/onSubscribe, not validation: validation results are cached per document, and a
  // document's cost depends on its variables. graphql-ws runs these hooks too.
  // An operation under the limit with every list at its largest page is under it whatever its
  // variables: that cost is counted once per document and operation, not on every request (the
  // dashboards' own operations never need more); only the others are counted with their variables.
  const costAtLargest = new WeakMap<DocumentNode, Map<string | null | undefined, number | null>>();
  const limitCost = ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void }) => {
    let costs = costAtLargest.get(args.document);
    if (!costs) costAtLargest.set(args.document, (costs = new Map()));
    if (!costs.has(args.operationName)) costs.set(args.operationName, operationCost(args.schema, args.document, args.operationName, LARGEST_PAGES));
    const largest = costs.get(args.operationName)!;
    if (largest !== null && largest <= config.GRAPHQL_MAX_COST) return;
    const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues);
    if (cost === null || cost <= config.GRAPHQL_MAX_COST) return;
    setResultAndStopExecution({
      errors: [
        new GraphQLError(`Query Cost limit of ${config.GRAPHQL_MAX_COST} exceeded, found ${cost}.`, {
          // What Yoga gives a validation error: 400, or 200 for clients of application/json only.
          extensions: { code: "BAD_USER_INPUT", http: { status: 400, spec: true } },
        }),
      ],
    });
  };

  return {
    onPluginInit({ addPlugin }) {
      for (const plugin of armor.plugins) addPlugin(plugin as Plugin);
    },
    onValidate({ addValidationRule }) {
      if (!config.GRAPHQL_INTROSPECTION) addValidationRule(NoSchemaIntrospectionCustomRule);
      // graphql-js stops comparing overlapping fields past a work budget and says only "Validation aborted.".
      return ({ result, setResult }) => {
        if (result.some((error) => error.message === "Validation aborted.")) {
          setResult(result.map((error) => (error.message === "Validation aborted." ? new GraphQLError(TOO_COMPLEX) : error)));
        }
      };
    },
    onExecute: limitCost,
    onSubscribe: limitCost,
  };
}
