"""The OpenAPI document against the server it describes: built from the routes (every route in
it, every limit of the rules in it), then schemathesis runs every operation with every check."""

from __future__ import annotations

import asyncio
import os
import re

import pytest
from conftest import ROOT
from helpers import PASSWORD, Api, register
from starlette.routing import Mount, Route, WebSocketRoute

from wire import validate
from wire.contract import one_route_per_path

FUZZ = ROOT / "tests" / "fuzz"
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "25"))


def _app_operations() -> set[tuple[str, str]]:
    import app as application

    operations = set()
    for route in application.ROUTES:
        routes = one_route_per_path(route.routes) if isinstance(route, Mount) else [route]
        prefix = route.path if isinstance(route, Mount) else ""
        for inner in routes:
            if isinstance(inner, WebSocketRoute):
                continue
            assert isinstance(inner, Route)
            methods = inner.methods or {"GET"}
            for method in methods - {"HEAD"} if "GET" in methods else methods:
                operations.add((method.lower(), prefix + inner.path))
    return operations


async def test_the_document_has_every_route_and_nothing_else(live_server):
    document = (await Api(live_server).get("/api/openapi.json")).json()
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == _app_operations()
    undocumented = [
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-undocumented")
    ]
    assert undocumented == [], "routes without @api(...)"
    assert ("get", "/ws") in documented and ("get", "/u/{username}") in documented


async def test_the_document_states_the_limits_the_server_enforces(server_factory):
    server = server_factory(MAX_MESSAGE_LENGTH="777")
    document = (await Api(server).get("/api/openapi.json")).json()
    paths = document["paths"]

    def body(path, method="post"):
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["properties"]

    register_body = body("/api/auth/register")
    assert re.fullmatch(register_body["username"]["pattern"].strip("^$"), "sara_1")
    assert register_body["username"]["pattern"] == f"^{validate.USERNAME.pattern}$"
    assert (register_body["password"]["minLength"], register_body["password"]["maxLength"]) == (8, 72)
    assert body("/api/me", "patch")["display_name"]["maxLength"] == validate.DISPLAY_NAME_MAX
    assert body("/api/me", "patch")["bio"]["maxLength"] == validate.BIO_MAX
    assert body("/api/messages")["text"]["maxLength"] == 777, "a limit set by the environment"
    assert body("/api/messages")["client_id"]["maxLength"] == validate.CLIENT_ID_MAX
    limit = next(p for p in paths["/api/users"]["get"]["parameters"] if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 50)
    login = body("/api/auth/login")
    assert "pattern" not in login["username"], "login takes any username; register's rules are register's"
    statuses = {status for operations in paths.values() for op in operations.values() for status in op["responses"]}
    assert {"400", "401", "403", "404", "405", "409", "413", "422", "429"} <= statuses
    for path, method in [("/api/auth/login", "post"), ("/api/auth/register", "post"), ("/api/me/password", "post")]:
        assert "Retry-After" in paths[path][method]["responses"]["429"]["headers"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)
            elif content:  # bytes: the tus PATCH
                assert {"413", "415"} <= set(operation["responses"]), (method, path)
    patch = paths["/api/uploads/{upload_id}"]["patch"]
    assert "application/offset+octet-stream" in patch["requestBody"]["content"]
    tus_headers = {p["name"]: p for p in patch["parameters"] if p["in"] == "header"}
    assert tus_headers["Tus-Resumable"]["required"] and tus_headers["Tus-Resumable"]["schema"]["const"] == "1.0.0"
    create = {p["name"]: p["schema"] for p in paths["/api/uploads"]["post"]["parameters"]}
    assert create["Upload-Length"]["maximum"] == 20 * 1024 * 1024, "the upload limit of the settings"
    assert "412" in patch["responses"] and "423" in patch["responses"]


@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_failure_of_any_check_on_any_operation(server_factory, tmp_path):
    # A quota no run of examples fills: a full quota is state, not something a schema can say.
    server = server_factory(UPLOAD_QUOTA_BYTES=str(2**40))
    fuzzer, peer = await register(server), await register(server)
    await fuzzer.send(peer.username, "a message so the stream has updates")
    env = {
        **os.environ,
        "FUZZ_BASE_URL": server.url,
        "FUZZ_USERNAME": fuzzer.username,
        "FUZZ_PASSWORD": PASSWORD,
        "SCHEMATHESIS_HOOKS": "hooks",
        "PYTHONPATH": str(FUZZ),
    }
    report = tmp_path / "report"
    command = [
        str(ROOT / ".venv" / "bin" / "schemathesis"),
        "--config-file",
        str(FUZZ / "schemathesis.toml"),
        "run",
        f"{server.url}/api/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--request-timeout",
        "15",
        "--seed",
        "20261125",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output = (await asyncio.wait_for(process.communicate(), 840))[0].decode()
    returncode = process.returncode
    summary = re.search(r"(\d+) generated", output)
    print(f"\nschemathesis: {summary.group(0) if summary else '?'} test cases; exit {returncode}")
    assert returncode == 0, output[-6000:]
    assert "Selected: " in output and "Tested: " in output
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    assert selected and selected.group(1) == selected.group(2), "every operation was run"
    assert int(summary.group(1)) > 10 * EXAMPLES_PER_OPERATION
    assert "500" not in server.log() and "Traceback" not in server.log()
    await fuzzer.close()
    await peer.close()


async def test_a_405_lists_every_method_the_path_takes(live_server):
    api = await register(live_server)
    for path, methods in [("/api/me", {"GET", "PATCH", "DELETE"}), ("/api/messages/1", {"PATCH", "DELETE"})]:
        response = await api.request("PUT", path)
        assert response.status_code == 405
        assert {m.strip() for m in response.headers["allow"].split(",")} - {"HEAD"} == methods
    await api.close()
