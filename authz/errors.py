"""Domain errors. The HTTP layer maps each class to a status in one place
(api/errors.py); nothing here knows about HTTP."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The request is malformed: a field is missing, of the wrong type or too long."""

    code = "invalid_input"


class UnknownAction(InvalidInput):
    code = "unknown_action"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class InvalidToken(Unauthenticated):
    """The acting person's token (X-Acting-Token) or a sign-in did not prove who it names."""

    code = "invalid_token"


class ProviderUnavailable(DomainError):
    """The OpenID Connect provider could not be reached or answered nonsense: nothing
    was decided (HTTP 503, retry later)."""

    code = "identity_provider_unavailable"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class AlreadyExists(Conflict):
    """What would be created (or renamed to) exists already, under the service's
    rules of identity (a login id taken by another person)."""

    code = "already_exists"


class PreconditionFailed(DomainError):
    """The caller changes a record from a version that is no longer current (If-Match)."""

    code = "precondition_failed"


class RuleViolation(DomainError):
    """Well-formed, but a rule of the domain forbids it (HTTP 422)."""

    code = "rule_violation"


@dataclass(frozen=True)
class Problem:
    """One problem found in a policy or an import file, with where it is."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


class ProblemsFound(DomainError):
    """A file was refused; every problem found is listed."""

    code = "invalid_file"

    def __init__(self, what: str, problems: list[Problem]):
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{what}: {len(problems)} problem(s)\n{listing}")


class PolicyInvalid(ProblemsFound):
    code = "policy_invalid"


class ImportInvalid(ProblemsFound):
    code = "import_invalid"
