import { DomainError } from "../domain/errors.js";

/** A request without valid credentials: UNAUTHENTICATED, and HTTP 401 where there is a status to set. */
export const unauthenticated = (message: string) => new DomainError("UNAUTHENTICATED", message, { http: { status: 401 } });
