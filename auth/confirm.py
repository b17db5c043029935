"""The password asked again before an account changes for good (a new password, deletion)."""

from __future__ import annotations

from auth import passwords
from auth.limits import refuse
from wire import validate
from wire.responses import ApiError


async def confirm_password(state, user_id: int, password: str, address: str, field: str, wrong: str) -> None:
    """Returns when `password` is the account's; a wrong one is counted and refused with 403,
    and too many of them with 429."""
    failures = state.limits.password_failures_by_user
    wait = await failures.retry_after(str(user_id))
    if wait:
        raise await refuse(wait, "Too many wrong passwords; try again later.")
    stored_hash = await state.store.password_hash(user_id)
    counters = state.counters
    if len(password) > validate.PASSWORD_MAX or not await passwords.check_password(
        password, stored_hash, counters, address
    ):
        await failures.hit(str(user_id))
        passwords.count_failure(address)
        raise ApiError(403, "wrong_password", wrong, field)
    await failures.reset(str(user_id))
