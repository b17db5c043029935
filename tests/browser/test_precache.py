"""The service worker precaches every file of public/ that the app loads, so it starts offline."""

import posixpath
import re
from pathlib import Path

PUBLIC = Path(__file__).resolve().parents[2] / "public"
IMPORT = re.compile(r"""(?:\bfrom\s+|\bimport\s*\(?\s*)['"]((?:\.\.?)?/[^'"]+)['"]""")
HTML_LINK = re.compile(r"""\b(?:href|src)="(/[^"]*)\"""")
CSS_URL = re.compile(r"""url\(\s*['"]?(/[^'")]+)['"]?\s*\)""")
MANIFEST_SRC = re.compile(r""""src"\s*:\s*"(/[^"]+)\"""")


def precached() -> set[str]:
    source = (PUBLIC / "sw.js").read_text()
    shell = re.search(r"const SHELL = \[(.*?)\];", source, re.S).group(1)
    return set(re.findall(r"'([^']+)'", shell))


def loaded_by_the_app(start: str = "/index.html") -> set[str]:
    """Every file reached from index.html: its links, the modules' imports (absolute or relative),
    the stylesheet's urls."""
    found: set[str] = set()
    waiting = [start]
    while waiting:
        path = waiting.pop()
        if path in found:
            continue
        found.add(path)
        if not path.endswith((".html", ".js", ".css", ".webmanifest")):
            continue
        text = (PUBLIC / path.lstrip("/")).read_text()
        if path.endswith(".html"):
            links = HTML_LINK.findall(text)
        elif path.endswith(".js"):
            links = IMPORT.findall(text)
        elif path.endswith(".css"):
            links = CSS_URL.findall(text)
        else:
            links = MANIFEST_SRC.findall(text)
        base = posixpath.dirname(path)
        waiting.extend(posixpath.normpath(posixpath.join(base, link.split("?")[0])) for link in links if link != "/")
    return found


def test_every_file_the_app_loads_is_precached():
    missing = loaded_by_the_app() - precached()
    assert not missing, f"not in the service worker's SHELL list: {sorted(missing)}"


def test_every_precached_file_exists():
    absent = [path for path in precached() if path != "/" and not (PUBLIC / path.lstrip("/")).is_file()]
    assert not absent, f"precached but missing from public/: {absent}"


def test_the_scan_finds_the_modules_and_the_stylesheet():
    loaded = loaded_by_the_app()
    assert {"/app.js", "/ui/conversation.js", "/styles.css", "/manifest.webmanifest"} <= loaded


def test_the_crypto_client_and_every_module_it_imports_are_precached():
    loaded = loaded_by_the_app("/crypto/client.js")
    assert {"/crypto/session.js", "/vendor/noble/post-quantum/ml-kem.js", "/api.js"} <= loaded
    missing = loaded - precached()
    assert not missing, f"not in the service worker's SHELL list: {sorted(missing)}"
