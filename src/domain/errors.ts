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
