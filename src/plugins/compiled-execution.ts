import { useGraphQlJit } from "@envelop/graphql-jit";
import { getOperationAST, getVariableValues } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { Logger } from "../logger.js";

/**
 * Executes each query through code graphql-jit compiled for it, once per parsed document
 * (Yoga's parse cache hands back the same document object for the same text). It took about 40%
 * of the CPU off a 50-row inbox page (bench/README.md, lever 9). A document that passed
 * validation but that the compiler refuses answers with the compiler's errors, logged here.
 */
export function useCompiledExecution(log: Logger): Plugin {
  return {
    onPluginInit({ addPlugin }) {
      const jit = useGraphQlJit(
        {},
        {
          // Queries only. Mutations keep graphql-js: graphql-jit drops variables written inside a
          // JSON literal (metadata: { plan: $plan } loses plan; test/mutations.test.ts), and a
          // mutation returns one record. Subscriptions too: graphql-jit 0.8 hands a subscription
          // field's `subscribe` the operation's variables as its arguments (graphql-jit#183,
          // envelop#2008), so the feeds would lose their filters; test/subscriptions.test.ts stalls
          // with it.
          enableIf: ({ document, operationName }) => getOperationAST(document, operationName)?.operation === "query",
          onError: (failure) => log.warn({ errors: failure.errors?.map((e) => e.message) }, "graphql-jit could not compile a document"),
        },
      );
      addPlugin(jit as Plugin);
    },
    onExecute({ args }) {
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result) || result.data !== undefined || !result.errors?.length) return;
          // Nothing ran: the variables were refused. graphql-jit says so more tersely than graphql-js
          // (no input path, not the scalar's reason), so clients get graphql-js's words, as before.
          const operation = getOperationAST(args.document, args.operationName);
          const { errors } = getVariableValues(args.schema, operation?.variableDefinitions ?? [], args.variableValues ?? {});
          if (errors) setResult({ errors });
        },
      };
    },
  };
}
