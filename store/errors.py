"""Why the store refused an operation. Each kind names its HTTP status, so routes turn any of
them into the one JSON error (HTTP) or error frame (WebSocket) in a single place."""

from __future__ import annotations


class StoreError(Exception):
    code = "bad_request"
    status = 400

    def __init__(self, message: str, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFound(StoreError):
    code = "not_found"
    status = 404


class Forbidden(StoreError):
    code = "forbidden"
    status = 403


class Conflict(StoreError):
    code = "conflict"
    status = 409


class Invalid(StoreError):
    code = "invalid_input"
    status = 422

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field)


class Unavailable(StoreError):
    """The database could not take the change now; nothing was stored, a retry may succeed."""

    code = "unavailable"
    status = 503

    @classmethod
    def from_error(cls, error: Exception) -> Unavailable:
        unavailable = cls("The change could not be saved now; retry it.")
        unavailable.__cause__ = error
        return unavailable


class StorageFull(StoreError):
    """The disk is full: nothing new is saved, everything stored stays."""

    code = "storage_full"
    status = 507
