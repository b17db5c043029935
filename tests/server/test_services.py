"""The app's services: opened in order, closed in reverse, every step run even when one fails."""

from __future__ import annotations

import pytest

from server.services import open_services
from settings import load_settings, with_kept_keys


def _settings(tmp_path):
    return with_kept_keys(
        load_settings({"DATABASE_URL": f"sqlite:///{tmp_path}/services.db", "DATA_DIR": str(tmp_path)})
    )


async def test_every_part_is_open_inside_and_closed_after(tmp_path):
    async with open_services(_settings(tmp_path)) as services:
        assert services.store.writer is not None
        assert await services.store.user_by_username("nobody") is None
        workers = list(services.push._workers)
        assert workers and not any(worker.done() for worker in workers)
    assert all(worker.done() for worker in workers)
    assert services.store.connections._all == []


async def test_a_part_that_fails_to_close_leaves_the_others_closing(tmp_path):
    async def broken_close() -> None:
        raise RuntimeError("presence would not close")

    with pytest.raises(RuntimeError, match="presence would not close"):
        async with open_services(_settings(tmp_path)) as services:
            services.presence.close = broken_close
            workers = list(services.push._workers)
            refresher = services.viewing._refresher
    # Closed before presence (in reverse order of opening) and after it, all the same.
    assert all(worker.done() for worker in workers) and refresher.done()
    assert services.store.connections._all == []
