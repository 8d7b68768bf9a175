import { GraphQLError } from "graphql";
import { isAsyncIterable, processRegularResult, type Plugin } from "graphql-yoga";

/**
 * A subscription sent as a plain POST (Accept: application/json) has no way to stream: Yoga
 * answers 406 with an empty body. This says why, in the contract's error shape, so a client
 * developer learns what to send instead.
 */
export function useSubscriptionMediaTypeHint(): Plugin {
  return {
    onResultProcess({ result, resultProcessor, setResult, setResultProcessor }) {
      if (resultProcessor || !isAsyncIterable(result)) return;
      // Never to be read: ended now, so what counts open subscriptions counts this one closed.
      void result[Symbol.asyncIterator]().return?.();
      setResult({
        errors: [
          new GraphQLError("A subscription streams its events: send it with Accept: text/event-stream, or over graphql-ws.", {
            extensions: { code: "BAD_USER_INPUT", http: { status: 406 } },
          }),
        ],
      });
      setResultProcessor(processRegularResult, "application/json");
    },
  };
}
