"""Fetch the vendored @noble/* ES modules into public/vendor/noble/ and the `qr` generator into
public/vendor/qr/, and write their manifest.

`python scripts/vendor.py` downloads each pinned tarball from the npm registry, checks its npm
integrity hash, copies the .js files reachable from the entry modules the PWA imports (plus each
package's LICENSE), and rewrites bare `@noble/...` import specifiers into relative paths so the
browser loads them with no import map and no build step. public/vendor/manifest.json records the
versions, the tarballs' integrity and the SHA-256 of every file written; tests/e2ee/test_vendor.py
checks the tree against it. `qr` (paulmillr/qr, zero dependencies) is copied as it ships: index.js
(the encoder; the PWA draws the QR code of a device link with it), decode.js (the decoder, which
imports only index.js; the PWA reads a link's QR code from the camera with it) and its licences.
"""

import base64
import hashlib
import io
import json
import posixpath
import re
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

ABOUT = "Vendored by scripts/vendor.py; tests/e2ee/test_vendor.py checks every file against it."
REGISTRY = "https://registry.npmjs.org"
ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "public" / "vendor"
TARGET = VENDOR / "noble"

# @noble/post-quantum 0.7.1 pins the other three at exactly 2.4.0.
PACKAGES = {
    "hashes": ("@noble/hashes", "2.4.0", "noble-hashes"),
    "curves": ("@noble/curves", "2.4.0", "noble-curves"),
    "ciphers": ("@noble/ciphers", "2.4.0", "noble-ciphers"),
    "post-quantum": ("@noble/post-quantum", "0.7.1", "noble-post-quantum"),
}
ENTRIES = [
    "post-quantum/ml-kem.js",
    "curves/ed25519.js",
    "ciphers/aes.js",
    "hashes/sha2.js",
]
QR = ("qr", "0.7.0")
# LICENSE is Apache-2.0, LICENSE-MIT the MIT one: either applies
QR_FILES = ["index.js", "decode.js", "LICENSE", "LICENSE-MIT"]
QR_TARGET = VENDOR / "qr"
# Only statements at the start of a line: the packages' doc comments quote imports too.
IMPORT = re.compile(r"""^((?:import|export)\b[^;]*?\bfrom\s*)['"]([^'"]+)['"]""", re.M)


def fetch_tarball(package: str, version: str, stem: str) -> tuple[tarfile.TarFile, str]:
    with urllib.request.urlopen(f"{REGISTRY}/{package}/{version}", timeout=60) as answer:
        meta = json.load(answer)
    integrity = meta["dist"]["integrity"]
    with urllib.request.urlopen(meta["dist"]["tarball"], timeout=60) as answer:
        data = answer.read()
    algorithm, _, expected = integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        raise SystemExit(f"{package}@{version}: tarball does not match its registry integrity")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz"), integrity


def package_files(archive: tarfile.TarFile) -> dict[str, bytes]:
    files = {}
    for member in archive.getmembers():
        if member.isfile() and member.name.startswith("package/"):
            files[member.name.removeprefix("package/")] = archive.extractfile(member).read()
    return files


def resolve(current: str, specifier: str) -> str:
    """The vendored path (`pkg/file.js`) an import in `current` names."""
    if specifier.startswith("@noble/"):
        return specifier.removeprefix("@noble/")
    if specifier.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(current), specifier))
    raise SystemExit(f"{current}: unexpected import {specifier!r}")


def rewrite(current: str, source: str) -> tuple[str, list[str]]:
    wanted = []

    def relative(match: re.Match) -> str:
        target = resolve(current, match.group(2))
        wanted.append(target)
        path = posixpath.relpath(target, posixpath.dirname(current))
        return f"{match.group(1)}'{path if path.startswith('.') else './' + path}'"

    return IMPORT.sub(relative, source), wanted


def collect(sources: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
    out, queue = {}, list(ENTRIES)
    while queue:
        current = queue.pop()
        if current in out:
            continue
        package, _, name = current.partition("/")
        text, wanted = rewrite(current, sources[package][name].decode())
        out[current] = text.encode()
        queue.extend(wanted)
    return out


def main() -> None:
    sources, packages = {}, {}
    for key, (package, version, stem) in PACKAGES.items():
        archive, integrity = fetch_tarball(package, version, stem)
        sources[key] = package_files(archive)
        packages[key] = {"name": package, "version": version, "integrity": integrity}
    qr_archive, qr_integrity = fetch_tarball(*QR, "qr")
    qr_sources = package_files(qr_archive)
    packages["qr"] = {"name": QR[0], "version": QR[1], "integrity": qr_integrity, "licence": "qr/LICENSE-MIT"}
    shutil.rmtree(QR_TARGET, ignore_errors=True)
    QR_TARGET.mkdir(parents=True)
    for name in QR_FILES:
        (QR_TARGET / name).write_bytes(qr_sources[name])
    files = collect(sources)
    for key in PACKAGES:
        files[f"{key}/LICENSE"] = sources[key]["LICENSE"]
    shutil.rmtree(TARGET, ignore_errors=True)
    for path, data in files.items():
        (TARGET / path).parent.mkdir(parents=True, exist_ok=True)
        (TARGET / path).write_bytes(data)
    manifest = {
        "about": ABOUT,
        "packages": packages,
        "files": {f"noble/{path}": hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}
        | {f"qr/{name}": hashlib.sha256(qr_sources[name]).hexdigest() for name in QR_FILES},
    }
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{len(files)} files in {TARGET.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
