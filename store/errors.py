"""Why the store refused an operation; routes turn these into HTTP and WebSocket errors."""


class StoreError(Exception):
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(StoreError):
    code = "not_found"


class Forbidden(StoreError):
    code = "forbidden"


class Conflict(StoreError):
    code = "conflict"


class Invalid(StoreError):
    code = "invalid_input"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class Unavailable(StoreError):
    """The database does not answer (restarting, unreachable); the same request may succeed soon."""

    code = "unavailable"


class StorageFull(StoreError):
    """The database cannot grow: nothing new is saved, everything stored stays."""

    code = "storage_full"
