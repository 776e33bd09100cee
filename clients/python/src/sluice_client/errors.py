"""Typed exceptions. Every error answer of the API (``{"error": {"code", "field",
"reason", "intent_id"}}``) is raised as an :class:`ApiError` subclass chosen by its
``code`` (then by HTTP status), carrying the code, the field to change, the reason and
the refused intent's id when one was stored.
"""

from __future__ import annotations

from typing import Any, Optional


class SluiceError(Exception):
    """Base of every exception this client raises."""


class ConnectionFailed(SluiceError):
    """The daemon could not be reached (not running, wrong address, connection lost)."""


class ApiError(SluiceError):
    """The API answered with an error body."""

    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        field: Optional[str] = None,
        intent_id: Optional[int] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.reason = reason
        self.field = field
        self.intent_id = intent_id
        where = f"{field}: " if field else ""
        refused = f" (intent #{intent_id})" if intent_id is not None else ""
        super().__init__(f"{where}{reason}{refused} [HTTP {status}, {code}]")


class BadRequest(ApiError):
    """400: the body is not the expected JSON (the field and why)."""


class Unauthorized(ApiError):
    """401: no or a wrong bearer token."""


class Forbidden(ApiError):
    """403: a foreign Origin or Host."""


class NotFound(ApiError):
    """404: no such intent or endpoint."""


class Conflict(ApiError):
    """409: refused by the state of things (halt, an opposite position, a reused key...)."""


class Halted(Conflict):
    """409 ``halted``: trading is halted; opens are refused (stored as failed intents)."""


class IdempotencyKeyReused(Conflict):
    """409 ``idempotency_key_reused``: the key names a different earlier request."""


class AlreadyEnded(Conflict):
    """409 ``already_ended``: the intent ended done or failed before the cancel."""


class FlattenPending(Conflict):
    """409 ``flatten_pending``: resume refused until the flatten is confirmed flat."""


class SinceTooOld(ApiError):
    """410 ``since_too_old``: the events after ``since`` were deleted by retention; read
    the current state from the API, then resume without ``since``."""


class Invalid(ApiError):
    """422 ``invalid``: a field's value is not acceptable (``field`` names it)."""


class NotEnoughBudget(Invalid):
    """422 ``not_enough_budget``: the open does not fit the budget (stored as failed)."""


class Unavailable(ApiError):
    """503: the ledger is unavailable (retry), or this daemon is the standby."""


_BY_CODE: dict[str, type[ApiError]] = {
    "halted": Halted,
    "idempotency_key_reused": IdempotencyKeyReused,
    "already_ended": AlreadyEnded,
    "flatten_pending": FlattenPending,
    "since_too_old": SinceTooOld,
    "not_enough_budget": NotEnoughBudget,
}
_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: SinceTooOld,
    422: Invalid,
    503: Unavailable,
}


def error_from(status: int, body: Any) -> ApiError:
    """The exception for an error answer (``body`` is the parsed JSON, or anything)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ApiError(status, "http_error", f"HTTP {status}: {str(body)[:200]}")
    code = str(error.get("code", "http_error"))
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, ApiError)
    return cls(
        status,
        code,
        str(error.get("reason", "")),
        field=error.get("field"),
        intent_id=error.get("intent_id"),
    )
