import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from "graphql";
import { createCounter, createHistogram, usePrometheus, type FillLabelsFnParams } from "@graphql-yoga/plugin-prometheus";
import { isAsyncIterable, mapAsyncIterator, type Plugin } from "graphql-yoga";
import { collectDefaultMetrics, Gauge, Histogram, Registry, Counter } from "prom-client";
import type { SqlObserver } from "../db/sql-observer.js";
import type { EventBus } from "../realtime/pubsub.js";

/** How many distinct operation names get their own label before the rest share "other". */
const OPERATION_NAME_CAP = 100;

/**
 * Operation names come from clients, so as label values they are unbounded. Known names (the
 * shipped operations, or the allow-list's) always keep their own label; in strict mode (allow-list)
 * every other name is "other", otherwise the first OPERATION_NAME_CAP names seen get a label too.
 */
export class OperationNames {
  private readonly seen = new Set<string>();

  constructor(
    private readonly known: ReadonlySet<string>,
    private readonly strict: boolean,
    private readonly cap = OPERATION_NAME_CAP,
  ) {}

  label(name: string | undefined): string {
    if (!name) return "anonymous";
    if (this.known.has(name) || this.seen.has(name)) return name;
    if (this.strict || this.seen.size >= this.cap) return "other";
    this.seen.add(name);
    return name;
  }
}

export interface Metrics {
  registry: Registry;
  plugins: Plugin[];
  /**
   * Counts errors a client got outside Yoga's HTTP result hooks (graphql-ws), labelled by the
   * operation of `document` when there is one.
   */
  countErrors(errors: readonly GraphQLError[], document: DocumentNode | undefined, operationName: string | null | undefined): void;
  close(): void;
}

interface OperationLabels {
  operationName: string;
  operationType: string;
}

/**
 * Prometheus metrics on a registry of this gateway's own (two gateways in one process must not
 * share counters): requests, durations and errors by operation, SQL statement time, open
 * subscriptions by transport, and the process metrics prom-client collects.
 */
export function createMetrics(options: { sql: SqlObserver; names: OperationNames; endpoint: string | false; bus: Pick<EventBus, "status"> }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const labelsByContext = new WeakMap<object, OperationLabels>();
  const labelsByRequest = new WeakMap<Request, OperationLabels>();
  const operationLabels = (document: DocumentNode | undefined, requestedName: unknown): OperationLabels => {
    const operation = document ? getOperationAST(document, typeof requestedName === "string" ? requestedName : undefined) : null;
    // A document whose operation cannot be picked (several, none named) fails anyway: one label for all of them.
    if (!operation) return { operationName: "unknown", operationType: "unknown" };
    return { operationName: options.names.label(operation.name?.value), operationType: operation.operation };
  };
  const fillLabels = (params: FillLabelsFnParams, context: { params?: { operationName?: unknown } } | undefined) => {
    const labels = operationLabels(params.document, context?.params?.operationName);
    if (context) labelsByContext.set(context, labels);
    return labels;
  };

  const requests = createCounter<"execute" | "subscribe", "operationName" | "operationType">({
    registry,
    counter: { name: "graphql_requests_total", help: "GraphQL operations executed, by operation", labelNames: ["operationName", "operationType"] },
    fillLabelsFn: fillLabels,
  });
  const duration = createHistogram<"execute" | "subscribe", "operationName" | "operationType">({
    registry,
    histogram: {
      name: "graphql_request_duration_seconds",
      help: "Time to execute a GraphQL query or mutation, by operation",
      labelNames: ["operationName", "operationType"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    },
    fillLabelsFn: fillLabels,
    // A subscription's "duration" is how long a client stayed: not a latency.
    phases: ["execute"],
  });
  const errors = new Counter({
    name: "graphql_errors_total",
    help: "Errors returned to clients, by extensions.code and operation",
    labelNames: ["code", "operationName", "operationType"],
    registers: [registry],
  });
  const statements = new Histogram({
    name: "db_statement_duration_seconds",
    help: "Time of each SQL statement sent to the database",
    labelNames: ["statement"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const openSubscriptions = new Gauge({
    name: "graphql_subscriptions_open",
    help: "Subscriptions open right now, by transport",
    labelNames: ["transport"],
    registers: [registry],
  });
  // Both series exist from the start, so a dashboard shows 0 rather than "no data".
  for (const transport of ["sse", "websocket"] as const) openSubscriptions.labels(transport).set(0);
  if (options.bus.status() !== "local") {
    new Gauge({
      name: "redis_connected",
      help: "1 while both Redis connections (commands, events) are up; 0 means live events stay on this instance",
      registers: [registry],
      collect() {
        this.set(options.bus.status() === "connected" ? 1 : 0);
      },
    });
  }

  const unsubscribeSql = options.sql.subscribe(({ sql, durationMs }) =>
    statements.labels(statementKind(sql)).observe(durationMs / 1000),
  );

  const subscriptionOpened = (transport: "sse" | "websocket") => {
    openSubscriptions.labels(transport).inc();
    let open = true;
    return () => {
      if (open) openSubscriptions.labels(transport).dec();
      open = false;
    };
  };

  const countErrors = (result: ExecutionResult, labels: OperationLabels) => {
    for (const error of result.errors ?? []) {
      const code = error instanceof GraphQLError && typeof error.extensions?.code === "string" ? error.extensions.code : "INTERNAL_SERVER_ERROR";
      errors.labels(code, labels.operationName, labels.operationType).inc();
    }
  };
  const noOperation: OperationLabels = { operationName: "unknown", operationType: "unknown" };

  const plugins: Plugin[] = [
    usePrometheus({
      registry,
      endpoint: options.endpoint,
      // Only the metrics above: the plugin's other defaults label by error path or URL (unbounded)
      // or repeat the same timings per phase.
      metrics: {
        graphql_envelop_request: requests,
        graphql_envelop_request_duration: duration,
        graphql_envelop_request_time_summary: false,
        graphql_envelop_deprecated_field: false,
        graphql_envelop_phase_parse: false,
        graphql_envelop_phase_validate: false,
        graphql_envelop_phase_context: false,
        graphql_envelop_phase_execute: false,
        graphql_envelop_phase_subscribe: false,
        graphql_envelop_error_result: false,
        graphql_envelop_schema_change: false,
        graphql_yoga_http_duration: false,
      },
    }),
    {
      onParse({ context }) {
        return ({ result }) => {
          if (result instanceof Error || !result) return;
          const labels = fillLabels({ document: result as DocumentNode }, context as { params?: { operationName?: unknown } });
          const request = (context as { request?: Request }).request;
          if (request) labelsByRequest.set(request, labels);
        };
      },
      onSubscribe({ args }) {
        // graphql-ws runs operations with its own context (the socket in `extra`), HTTP streams them as SSE.
        const extra = (args.contextValue as { extra?: { socket?: unknown } }).extra;
        const transport = extra?.socket ? "websocket" : "sse";
        return {
          onSubscribeResult({ result }) {
            if (!isAsyncIterable(result)) return undefined;
            return { onEnd: subscriptionOpened(transport) };
          },
        };
      },
      // The final result, after masking and the contract codes: exactly what the client sees,
      // including errors raised before any document was parsed (authentication, allow-list).
      onResultProcess({ request, result, setResult }) {
        const labels = labelsByRequest.get(request) ?? noOperation;
        // An SSE stream: each event's errors, as it is sent.
        if (isAsyncIterable(result)) {
          setResult(mapAsyncIterator(result, (event) => (countErrors(event as ExecutionResult, labels), event)));
          return;
        }
        for (const single of Array.isArray(result) ? result : [result]) countErrors(single as ExecutionResult, labels);
      },
    },
  ];

  return {
    registry,
    plugins,
    countErrors: (errors, document, operationName) => countErrors({ errors }, operationLabels(document, operationName)),
    close() {
      unsubscribeSql();
      registry.clear();
    },
  };
}

const STATEMENT_KINDS = new Set(["select", "insert", "update", "delete", "with"]);

/** The statement's first keyword (select, insert, …; "with" for a CTE), a small fixed label set. */
function statementKind(sql: string): string {
  const keyword = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? "";
  return STATEMENT_KINDS.has(keyword) ? keyword : "other";
}
