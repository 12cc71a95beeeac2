"""The one error the API's services raise: a refusal with an HTTP status and a code."""

from __future__ import annotations


class ApiRefusal(Exception):
    """Refuse the call: ``status`` (4xx or 503), a stable machine ``code``, an English
    ``message`` for the engineer reading the log, and the JSON ``field`` at fault if any.
    The request's unit of work rolls back: a refused call changes nothing."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}
