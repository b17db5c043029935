"""The error contract: one JSON shape, fitting status codes, body limits, and never a 500."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import pytest
from checks import assert_error, assert_sane, close_all, register_many
from helpers import PASSWORD, Api

README = Path(__file__).resolve().parents[2] / "README.md"
ODD_VALUES = [
    None, True, False, 0, -1, 1.5, 2**63, 10**30, "", " ", "سلام", "\u0000", "😀" * 40, "x" * 5000, [], [1], {},
    {"a": 1}, "1", "-1", "null",
]  # fmt: skip


@pytest.fixture(scope="module")
async def people(live_server):
    sara, omid = await register_many(live_server, 2)
    message = await sara.send(omid.username, "fuzz target")
    yield sara, omid, message
    await close_all(sara, omid)


# ---- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"not json", b"{'single': 'quotes'}", b"\xff\xfe", b'{"a": NaN}', b"{} {}"])
async def test_a_body_that_is_not_json_is_400_bad_json(people, body):
    sara, omid, _ = people
    for method, path in [("POST", "/api/messages"), ("PATCH", "/api/me"), ("POST", "/api/auth/login")]:
        response = await sara.request(method, path, content=body, headers={"content-type": "application/json"})
        assert_error(response, 400, "bad_json")


@pytest.mark.parametrize("body", [b"[]", b'[{"to": "x"}]', b'"text"', b"42", b"null", b"true"])
async def test_a_json_body_that_is_not_an_object_is_400(people, body):
    sara, _, _ = people
    response = await sara.post("/api/messages", content=body, headers={"content-type": "application/json"})
    assert_error(response, 400, "bad_json")


async def test_a_body_over_64_kib_is_413(people):
    sara, omid, _ = people
    big = json.dumps({"to": omid.username, "text": "x" * (64 * 1024), "client_id": "big"}).encode()
    for method, path in [("POST", "/api/messages"), ("PATCH", "/api/me"), ("POST", "/api/auth/register")]:
        response = await sara.request(method, path, content=big, headers={"content-type": "application/json"})
        assert_error(response, 413, "payload_too_large")


async def test_a_chunked_body_over_64_kib_is_413(people):
    sara, omid, _ = people
    big = json.dumps({"to": omid.username, "text": "x" * (64 * 1024), "client_id": "chunked"}).encode()

    async def chunks():
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    response = await sara.post("/api/messages", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


async def test_a_body_just_under_64_kib_is_read(people):
    sara, _, _ = people
    body = json.dumps({"bio": "b" * 10, "padding": "p" * (64 * 1024 - 100)}).encode()
    assert len(body) <= 64 * 1024
    response = await sara.patch("/api/me", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


# ---- unknown paths and wrong methods ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
async def test_an_unknown_api_path_is_404_with_the_error_shape(people, method):
    sara, _, _ = people
    assert_error(await sara.request(method, "/api/no/such/thing"), 404, "not_found")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/messages"),
        ("GET", "/api/auth/login"),
        ("GET", "/api/auth/register"),
        ("PUT", "/api/me"),
        ("POST", "/api/me"),
        ("POST", "/api/users"),
        ("DELETE", "/api/conversations"),
        ("POST", "/api/updates"),
        ("PUT", "/api/messages/1"),
        ("GET", "/api/conversations/someone/read"),
        ("POST", "/health"),
    ],
)
async def test_a_wrong_method_on_a_known_path_is_405_with_the_error_shape(people, method, path):
    sara, _, _ = people
    assert_error(await sara.request(method, path), 405)


# ---- fuzz: odd input never breaks the server ------------------------------------------------------


def _bodies(base: dict, odd_values=ODD_VALUES):
    """The base body with each field set to each odd value, then some random mixtures."""
    for name, value in itertools.product(base, odd_values):
        yield {**base, name: value}
    for name in base:
        yield {key: value for key, value in base.items() if key != name}
    shuffle = random.Random(20261125)
    for _ in range(10):
        yield {name: shuffle.choice(odd_values) for name in base}


async def test_odd_json_bodies_never_cause_a_server_error(live_server, people):
    sara, omid, message = people
    not_strings = [value for value in ODD_VALUES if not isinstance(value, str)]
    targets = [
        # Auth bodies get no valid username/password pair, so no bcrypt runs and nothing is created.
        ("POST", "/api/auth/register", {"username": "no", "password": PASSWORD, "display_name": "x"}, not_strings),
        ("POST", "/api/auth/login", {"username": "x", "password": 5}, not_strings),
        ("POST", "/api/me/password", {"current_password": "wrong password", "new_password": "short"}, not_strings),
        ("PATCH", "/api/me", {"display_name": "Sara", "bio": "bio"}, ODD_VALUES),
        ("POST", "/api/messages", {"to": omid.username, "text": "t", "client_id": "c", "reply_to": None}, ODD_VALUES),
        ("PATCH", f"/api/messages/{message['id']}", {"text": "edited"}, ODD_VALUES),
        ("POST", f"/api/conversations/{sara.username}/read", {"up_to": message["id"]}, ODD_VALUES),
    ]
    count = 0
    for method, path, base, odd_values in targets:
        for body in _bodies(base, odd_values):
            api = omid if "/read" in path else sara
            response = await api.request(
                method, path, content=json.dumps(body, ensure_ascii=False), headers={"content-type": "application/json"}
            )
            assert_sane(response)
            count += 1
    assert count > 300
    assert (await sara.get("/api/me")).status_code == 200, "the token still works"


QUERY_VALUES = ["-1", "0", "1.5", "abc", "", "99999999999999999999999", "²", "١", "%00", " 1", "1e3", "null", "سلام"]


async def test_odd_query_parameters_never_cause_a_server_error(people):
    sara, omid, _ = people
    targets = [
        ("/api/users", {"q": "u", "limit": "5"}),
        (f"/api/conversations/{omid.username}/messages", {"before": "5", "limit": "5"}),
        ("/api/conversations", {"limit": "5"}),
        ("/api/updates", {"after": "0", "timeout": "0", "limit": "5"}),
    ]
    for (path, base), value in itertools.product(targets, QUERY_VALUES):
        for name in base:
            if name == "timeout" and value in ("١", " 1"):
                continue  # valid waits of a second: not odd
            params = {**base, name: value}
            if name != "timeout" and path == "/api/updates":
                params["timeout"] = "0"
            assert_sane(await sara.get(path, params=params))


PATH_VALUES = [
    "²", "-1", "0", "١٢", "1.5", "abc", "%00", "%20", "a" * 300, "😀", "..%2F..%2Fetc", "99999999999999999999999",
]  # fmt: skip


@pytest.mark.parametrize("value", PATH_VALUES, ids=repr)
async def test_odd_path_parameters_never_cause_a_server_error(people, value):
    sara, _, _ = people
    requests = [
        ("GET", f"/api/users/{value}", None),
        ("GET", f"/api/conversations/{value}/messages", None),
        ("POST", f"/api/conversations/{value}/read", {"up_to": 1}),
        ("PATCH", f"/api/messages/{value}", {"text": "x"}),
        ("DELETE", f"/api/messages/{value}", None),
        ("GET", f"/u/{value}", None),
    ]
    for method, path, body in requests:
        response = await sara.request(method, path, json=body)
        assert_sane(response)
        if path.startswith("/api/") and "%2F" not in value:
            assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"


async def test_odd_authorization_headers_are_401_never_500(live_server):
    api = Api(live_server)
    odd = ["Bearer " + "x" * 10000, "Bearer ä.ö.ü".encode(), "BEARER garbage", "Bearer a b c", "Bearer ..", "Token abc"]
    for header in odd:
        assert_error(await api.get("/api/me", headers={"authorization": header}), 401, "unauthorized")
    await api.close()


# ---- the OpenAPI document, health, headers ---------------------------------------------------------


def _readme_api_calls() -> set[tuple[str, str]]:
    calls = re.findall(r"`(GET|POST|PATCH|DELETE) (/api/[^` ?]*|/health)", README.read_text())
    return {(method.lower(), re.sub(r"\{[^}]+\}", "{}", path)) for method, path in calls}


async def test_openapi_document_is_3_1_and_lists_every_api_call_of_the_readme(live_server):
    response = await Api(live_server).get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    listed = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    readme = _readme_api_calls()
    # 23 (with clearing a chat) + 8 media calls + 9 account controls + 9 key directory and call routes
    # + 2 key backup + 7 device link relay + taking back a reaction, unpinning, the pins, a link preview
    assert len(readme) == 62, sorted(readme)
    assert readme <= listed, f"missing from the OpenAPI document: {sorted(readme - listed)}"


async def test_health_answers_200_ok_with_the_database_state(live_server):
    response = await Api(live_server).get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "database": "ok"}, "nothing more for anonymous callers"


@pytest.mark.parametrize("path", ["/api/me", "/api/no/such/thing", "/health", "/", "/u/someone"])
async def test_security_headers_are_on_every_response(live_server, path):
    response = await Api(live_server).get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"]
    if path.startswith("/api/"):
        assert response.headers["cache-control"] == "no-store"
    else:
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
