import { EnvelopArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config.js";

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

/**
 * Limits on the GraphQL document itself, checked while parsing and validating, before any
 * resolver runs: token count, depth, aliases, directives and an estimated cost (graphql-armor),
 * plus introspection, which tells a stranger the schema. A refused document
 * gets BAD_USER_INPUT with the limit and the document's figure in the message.
 */
export function useOperationLimits(config: Config): Plugin {
  const armor = new EnvelopArmor({
    // Counted while parsing, before a validation context exists: this one throws.
    maxTokens: { n: config.GRAPHQL_MAX_TOKENS },
    maxDepth: { n: config.GRAPHQL_MAX_DEPTH, ...reported },
    maxAliases: { n: config.GRAPHQL_MAX_ALIASES, ...reported },
    maxDirectives: { n: config.GRAPHQL_MAX_DIRECTIVES, ...reported },
    costLimit: { maxCost: config.GRAPHQL_MAX_COST, ...reported },
    // Its suggestion filter knows only `Did you mean "x"?` of validation: src/graphql/errors.ts
    // (ErrorPolicy) leaves out every kind, variables' too.
    blockFieldSuggestion: { enabled: false },
  }).protect();
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
  };
}
