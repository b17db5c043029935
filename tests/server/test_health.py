"""GET /health answers 503 once the database stops answering."""

from __future__ import annotations

from starlette.testclient import TestClient

from app import create_app
from settings import load_settings


def test_health_is_503_when_the_database_does_not_answer(tmp_path):
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path}/h.db", "ENVIRONMENT": "test"})
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        # Close the reader connections under the running app: its queries now fail.
        for _ in range(2):

            async def close_one():
                async with app.state.services.store.connections.reader() as conn:
                    await conn.close()

            client.portal.call(close_one)
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "Traceback" not in response.text
