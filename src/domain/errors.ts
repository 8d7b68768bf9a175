import { GraphQLError } from "graphql";

/** The error codes of the contract (README, "Errors"). */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "INTERNAL_SERVER_ERROR";

/**
 * An expected failure a client can act on. It is a GraphQLError so that Yoga's error masking lets
 * it through with its code, while every other error is masked.
 */
export class DomainError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, details: { field?: string } & Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...details } });
    this.code = code;
  }
}

export const notFound = (what: string, id: string) => new DomainError("NOT_FOUND", `No ${what} with id "${id}".`);

export const badInput = (field: string, message: string) => new DomainError("BAD_USER_INPUT", message, { field });

// PostgreSQL's query_canceled, raised for statement_timeout, as Prisma's errors carry it: inside a
// P2010 for a raw statement, as the cause of a DriverAdapterError for the others.
const QUERY_CANCELED = "57014";

/**
 * How a client is told the database stopped its statement at the timeout: still the contract's
 * INTERNAL_SERVER_ERROR, but one it can act on. Each caller says what was not kept.
 */
export const STATEMENT_TIMED_OUT = "The database took too long and stopped";

/** Whether the database stopped a statement because it ran past DATABASE_STATEMENT_TIMEOUT_MS. */
export function isStatementTimeout(error: unknown): boolean {
  const e = error as { cause?: { code?: unknown }; meta?: { driverAdapterError?: { cause?: { code?: unknown } } } } | null;
  return e?.cause?.code === QUERY_CANCELED || e?.meta?.driverAdapterError?.cause?.code === QUERY_CANCELED;
}
