import { DomainError } from "../domain/errors.js";

/** A request or connection without valid credentials. */
export const unauthenticated = (message: string) => new DomainError("UNAUTHENTICATED", message);
