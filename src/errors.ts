/** Domain errors: the HTTP layer maps each to a status, the CLIs to an exit code. */
export class DomainError extends Error {
  constructor(
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
export class Invalid extends DomainError {}
export class NotFound extends DomainError {}
export class Gone extends DomainError {}
export class Conflict extends DomainError {}
