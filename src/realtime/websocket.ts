import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { Server } from "node:http";
import { setImmediate } from "node:timers/promises";
import { getOperationAST, GraphQLError, parse as parseDocument, type DocumentNode, type ExecutionArgs, type ExecutionResult } from "graphql";
import { CloseCode, type Context, type SubscribePayload } from "graphql-ws";
import { type Extra as WsExtra, useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { RequestContext } from "../graphql/context.js";
import { createMaskError, type ErrorPolicy, withContractCode, withoutHttp } from "../graphql/errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../plugins/metrics.js";
import type { PersistedDocuments } from "../plugins/persisted-operations.js";
import { remoteAddress, type RateLimit } from "../plugins/rate-limit.js";
import { unstorableVariables } from "../plugins/strict-input.js";

type Yoga = YogaServerInstance<Record<string, unknown>, RequestContext>;
type Extra = WsExtra & {
  /** The connection's logger, carrying its connectionId as a request's carries its requestId. */
  log?: Logger;
  connectedAt?: number;
  /** The connection's operations in flight, by the client's id, for their "websocket operation" lines. */
  operations?: Map<string, OperationLog>;
} & Record<PropertyKey, unknown>;

interface OperationLog {
  startedAt: number;
  /** Once parsed: the metrics label the operation's errors by it. */
  document?: DocumentNode;
  /** From the validated document; unknown while the operation has not got that far. */
  operation?: string;
  operationName?: string;
}

type Result = ExecutionResult | AsyncIterable<ExecutionResult>;
interface Executors {
  execute: (args: ExecutionArgs) => Result | Promise<Result>;
  subscribe: (args: ExecutionArgs) => Result | Promise<Result>;
}

// graphql-ws runs a document; an operation refused before its own is read runs this one, whose
// result is the refusal.
const REFUSED = parseDocument("{ __typename }");

/**
 * The graphql-ws protocol on the GraphQL endpoint's path and port, following Yoga's recipe: every
 * operation goes through `yoga.getEnveloped`, so the same plugins, context and authentication run
 * as for HTTP. Credentials come in connectionParams (`{ Authorization: "Bearer <token>" }`), read by
 * the same authenticator as HTTP headers: once at connection_init (close code 4401 when missing or
 * bad), and again by the context for every operation (a token may expire while connected).
 * Failed authentications count against the client's address, and each operation against its
 * caller's rate limit before its document is read, as over HTTP.
 */
export function serveGraphQLOverWebSocket(
  httpServer: Server,
  yoga: Yoga,
  log: Logger,
  options: {
    documents: Pick<PersistedDocuments, "documentFor">;
    rateLimit: RateLimit;
    /** The largest message a client may send, as MAX_REQUEST_BODY_BYTES over HTTP; larger closes the socket (1009). */
    maxMessageBytes: number;
    /** What errors may tell a client, as over HTTP. */
    errorPolicy: ErrorPolicy;
    /** Told of every error a client gets over the socket: the metrics count them. */
    errorsSent?: Metrics["countErrors"];
  },
) {
  const { documents, rateLimit, maxMessageBytes, errorPolicy, errorsSent = () => undefined } = options;
  const wsServer = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint, maxPayload: maxMessageBytes });
  const initialContext = (ctx: Context<Record<string, unknown> | undefined, Extra>) => ({
    ...ctx,
    req: ctx.extra.request,
    connectionParams: ctx.connectionParams ?? {},
    connectionLog: ctx.extra.log,
  });

  // Through Yoga's own mask: a client's error keeps its message and code; a failure of ours (the
  // database, Redis) is logged with the connection's id and answered INTERNAL_SERVER_ERROR, as over HTTP.
  const mask = (extra: Extra, err: unknown) => createMaskError(extra.log ?? log, errorPolicy)(err, "Unexpected error.");

  // What dispose waits for: every operation from its arrival until it is answered, but a
  // subscription only until it is known as one.
  const unanswered = new Set<OperationLog>();
  let disposing = false;
  let drained = () => {};
  const answered = (entry: OperationLog | undefined) => {
    if (entry && unanswered.delete(entry) && !unanswered.size) drained();
  };

  const disposable = useServer<Record<string, unknown> | undefined, Extra>(
    {
      execute: (args) => (args.rootValue as Executors).execute(args),
      subscribe: (args) => (args.rootValue as Executors).subscribe(args),
      onConnect: async (ctx) => {
        const connection = (ctx.extra.log = log.child({ connectionId: randomUUID() }));
        try {
          const { contextFactory } = yoga.getEnveloped(initialContext(ctx));
          await rateLimit.authenticate(remoteAddress(ctx.extra.request), async () => contextFactory());
          ctx.extra.connectedAt = performance.now();
          connection.info("websocket connected");
          return true;
        } catch (err) {
          const code = err instanceof GraphQLError ? err.extensions.code : undefined;
          if (err instanceof GraphQLError && (code === "UNAUTHENTICATED" || code === "RATE_LIMITED")) {
            errorsSent([err], undefined, undefined);
            connection.info({ reason: err.message }, "websocket connection refused");
            // 4429 (too many failed authentications from this address): graphql-ws clients take
            // it, like 4401, as a reason not to reconnect at once.
            const closeCode = code === "UNAUTHENTICATED" ? CloseCode.Unauthorized : CloseCode.TooManyInitialisationRequests;
            ctx.extra.socket.close(closeCode, closeReason(`${code}: ${err.message}`));
          } else {
            connection.error({ err }, "websocket connection could not be set up");
            ctx.extra.socket.close(CloseCode.InternalServerError, "INTERNAL_SERVER_ERROR");
          }
          return false;
        }
      },
      // Only for connections onConnect accepted.
      onDisconnect: (ctx, code) => {
        // Its client is gone, and with it anything to answer (as HTTP's drain stops waiting for a
        // request whose connection closed). An operation whose handling threw ends here too:
        // graphql-ws closes its socket, and onComplete never comes.
        for (const entry of ctx.extra.operations?.values() ?? []) answered(entry);
        ctx.extra.log?.info({ code, durationMs: Math.round(performance.now() - (ctx.extra.connectedAt ?? 0)) }, "websocket closed");
      },
      // Yoga's result hooks do not run for graphql-ws: the contract codes are given, and the
      // errors counted, here.
      onNext: (_ctx, _id, payload, args, result) => {
        if (!result.errors?.length) return;
        errorsSent(result.errors, args.document, payload.operationName);
        return { ...result, errors: result.errors.map(withoutHttp) };
      },
      // One line per operation, as HTTP has one per request: when it ends, or when it is refused.
      onComplete: (ctx, id) => {
        answered(ctx.extra.operations?.get(id));
        logOperationEnd(ctx.extra, id);
      },
      // Both the refusals onSubscribe returns and the error a stream ends with (its credentials
      // lapsed) come through here. graphql-ws wraps the latter in an error of its own, with its
      // message unmasked: it goes through the same mask as the rest.
      onError: (ctx, id, payload, errors) => {
        const masked = errors.map((error) => withoutHttp(mask(ctx.extra, error)));
        errorsSent(masked, ctx.extra.operations?.get(id)?.document, payload.operationName);
        logOperationEnd(ctx.extra, id, masked);
        return masked;
      },
      onSubscribe: async (ctx, id, params) => {
        // Once dispose has begun an operation is neither run nor answered: its socket closes with
        // 1001 next, and a graphql-ws client sends it again once reconnected (to another instance),
        // as it does every operation a closed socket left unanswered. The wait stays bounded by
        // what was under way, however much a client keeps sending.
        if (disposing) {
          ctx.extra.log?.info({ operationId: loggedId(id), operationName: params.operationName }, "websocket operation not run: shutting down");
          const { socket } = ctx.extra;
          if (socket.readyState !== socket.CLOSED) await once(socket, "close");
          // Never sent: graphql-ws sends nothing for an operation of a closed socket.
          return [new GraphQLError("Not run: the gateway was shutting down.")];
        }
        const started: OperationLog = { startedAt: performance.now() };
        (ctx.extra.operations ??= new Map()).set(id, started);
        unanswered.add(started);
        try {
          return await operationArgs(ctx, params, started);
        } finally {
          // From here only a query or mutation still runs: anything else is answered at once (an
          // error, a refusal) or is a subscription, not waited for (cut with 1001, its client
          // subscribes again).
          if (started.operation !== "query" && started.operation !== "mutation") answered(started);
        }
      },
    },
    wsServer,
  );

  async function operationArgs(ctx: Context<Record<string, unknown> | undefined, Extra>, params: SubscribePayload, started: OperationLog) {
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...initialContext(ctx), params });
    // Authentication and the rate limit first, as over HTTP: a caller over its limit costs no parsing.
    let contextValue;
    let refused;
    try {
      contextValue = await rateLimit.authenticate(remoteAddress(ctx.extra.request), async () => contextFactory());
      // createGateway's context factory puts the caller in `viewer`; Yoga's types do not know it.
      refused = await rateLimit.operation((contextValue as unknown as RequestContext).viewer);
    } catch (err) {
      return [mask(ctx.extra, err)];
    }
    if (refused) {
      const refusal = () => ({ errors: [refused] });
      return { schema, document: REFUSED, contextValue, rootValue: { execute: refusal, subscribe: refusal } satisfies Executors };
    }
    // The input rules of Yoga's onParams (useStrictInput, persisted documents) apply here too.
    const unstorable = unstorableVariables(params.variables);
    if (unstorable) return [unstorable];
    let document;
    try {
      document = parse((await documents.documentFor(params)) ?? params.query);
    } catch (err) {
      return [mask(ctx.extra, err)];
    }
    started.document = document;
    const errors = validate(schema, document);
    if (errors.length) return errors.map((error: GraphQLError) => withContractCode(error, errorPolicy));
    const operation = getOperationAST(document, params.operationName);
    started.operation = operation?.operation;
    started.operationName = operation?.name?.value;
    return {
      schema,
      operationName: params.operationName,
      document,
      variableValues: params.variables,
      contextValue,
      rootValue: { execute, subscribe } satisfies Executors,
    };
  }

  return {
    /** Lets every query and mutation already under way send its result, then closes the sockets with 1001. */
    dispose: async () => {
      disposing = true;
      if (unanswered.size) await new Promise<void>((resolve) => (drained = resolve));
      // graphql-ws sends an operation's last message just after the hook that ended it returns.
      await setImmediate();
      await disposable.dispose();
    },
  };
}

/** An operation's id as logged: the client picks it, and a line stays a line whatever it sends. */
const loggedId = (id: string) => id.slice(0, 64);

function logOperationEnd(extra: Extra, id: string, errors?: readonly GraphQLError[]) {
  const entry = extra.operations?.get(id);
  if (!entry) return;
  extra.operations!.delete(id);
  extra.log?.info(
    {
      operationId: loggedId(id),
      operation: entry.operation,
      operationName: entry.operationName,
      durationMs: Math.round((performance.now() - entry.startedAt) * 10) / 10,
      ...(errors && { errors: errors.map((e) => e.extensions.code) }),
    },
    "websocket operation",
  );
}

/** A WebSocket close reason may hold at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = `${reason.slice(0, -2)}…`;
  return reason;
}
