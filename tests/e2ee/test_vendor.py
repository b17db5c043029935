"""The vendored @noble/* modules and the qr generator are exactly what public/vendor/manifest.json
records."""

import hashlib
import json
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "public" / "vendor"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())
IMPORT = re.compile(r"""^(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]""", re.M)


def vendored_files() -> set[str]:
    return {path.relative_to(VENDOR).as_posix() for path in VENDOR.rglob("*") if path.is_file()} - {"manifest.json"}


def test_every_vendored_file_matches_its_manifest_checksum():
    for name, digest in MANIFEST["files"].items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_no_file_is_vendored_outside_the_manifest():
    assert vendored_files() == set(MANIFEST["files"])


def test_each_package_is_pinned_and_keeps_its_mit_licence():
    for key, package in MANIFEST["packages"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"]), package
        assert package["integrity"].startswith("sha512-"), package
        licence = (VENDOR / package.get("licence", f"noble/{key}/LICENSE")).read_text()
        assert "MIT License" in licence and "Paul Miller" in licence, key


def test_the_qr_generator_is_the_pinned_zero_dependency_release():
    assert MANIFEST["packages"]["qr"]["version"] == "0.7.0"
    assert not IMPORT.findall((VENDOR / "qr" / "index.js").read_text()), "qr imports nothing"
    assert {"qr/index.js", "qr/decode.js", "qr/LICENSE", "qr/LICENSE-MIT"} <= set(MANIFEST["files"])
    decoder_imports = IMPORT.findall((VENDOR / "qr" / "decode.js").read_text())
    assert decoder_imports == ["./index.js"], "the decoder imports the encoder only"


def test_every_import_is_relative_and_vendored():
    for name in MANIFEST["files"]:
        if not name.endswith(".js"):
            continue
        for specifier in IMPORT.findall((VENDOR / name).read_text()):
            assert specifier.startswith("."), (name, specifier)
            target = (VENDOR / name).parent / specifier
            assert target.resolve().relative_to(VENDOR.resolve()).as_posix() in MANIFEST["files"], (name, specifier)
