"""Pinned, hashed requirement files generated from pyproject.toml (``make lock``).

Three lock files, each the resolution of some of pyproject.toml's extras for the deployed
platform (CPython 3.11 on linux x86_64, glibc 2.35: the Cloud Functions python311 image):

    requirements.txt         the runtime (dependencies + [gcp]); the functions deploy from it
                             (terraform/scripts/package_function.py ships it as is)
    requirements-dev.txt     + [dev]: tests, lint, type checks (``make install``), the runtime
                             pins reused as constraints so both agree
    requirements-bench.txt   + [bench]: the benchmarks' charts (``make bench``)

uv (pinned as ``UV_VERSION``) resolves them with ``--generate-hashes``, so pip installs them in
hash-checking mode. It prefers the versions already in each file: a lock changes only where
pyproject.toml asks for it (``make lock UPGRADE=1`` moves everything to the newest allowed).

Each file carries ``# inputs-sha256: ...``, a digest of exactly what its resolution read from
pyproject.toml (requires-python, the dependencies, its extras) plus the uv version and the
options. tests/test_lock_files.py recomputes it offline, so a pyproject.toml change without
``make lock`` fails the tests, without resolving anything against an index (which would depend
on the network and on whatever was uploaded since).

Usage: python scripts/lock.py [--uv PATH] [--upgrade]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UV_VERSION = "0.13.9"
PYTHON_VERSION = "3.11"
# Cloud Functions' python311 runs on Ubuntu 22.04 (glibc 2.35), x86_64.
PYTHON_PLATFORM = "x86_64-manylinux_2_35"
COMPILE_COMMAND = "make lock"
INPUTS_LINE = re.compile(r"^# inputs-sha256: ([0-9a-f]{64})$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Lock:
    path: str
    extras: tuple[str, ...]
    constraints: tuple[str, ...] = ()


LOCKS = (
    Lock("requirements.txt", ("gcp",)),
    Lock("requirements-dev.txt", ("gcp", "dev"), ("requirements.txt",)),
    Lock("requirements-bench.txt", ("gcp", "dev", "bench"), ("requirements-dev.txt",)),
)


def compile_options(lock: Lock) -> list[str]:
    options = ["--generate-hashes", "--python-version", PYTHON_VERSION]
    options += ["--python-platform", PYTHON_PLATFORM]
    for extra in lock.extras:
        options += ["--extra", extra]
    for constraint in lock.constraints:
        options += ["--constraint", constraint]
    return options


def inputs_digest(pyproject: dict, lock: Lock) -> str:
    """What the resolution of ``lock`` reads, as one digest (order-insensitive where it may be)."""
    project = pyproject["project"]
    extras = project.get("optional-dependencies", {})
    missing = [extra for extra in lock.extras if extra not in extras]
    if missing:
        raise SystemExit(f"lock: pyproject.toml has no extra {', '.join(missing)}")
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "extras": {extra: sorted(extras[extra]) for extra in lock.extras},
        "uv": UV_VERSION,
        "options": compile_options(lock),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def recorded_digest(text: str) -> str | None:
    found = INPUTS_LINE.search(text)
    return found.group(1) if found else None


def load_pyproject(repo: Path = REPO) -> dict:
    return tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))


def _check_uv(uv: str) -> None:
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False)
    if version.returncode != 0 or version.stdout.split()[1:2] != [UV_VERSION]:
        raise SystemExit(
            f"lock: needs uv {UV_VERSION} (found: {version.stdout.strip() or version.stderr});"
            f" `make lock` installs it into .venv"
        )


def write_lock(uv: str, lock: Lock, digest: str, upgrade: bool, repo: Path = REPO) -> None:
    target = repo / lock.path
    command = [uv, "pip", "compile", "pyproject.toml", *compile_options(lock)]
    command += ["--output-file", lock.path, "--custom-compile-command", COMPILE_COMMAND]
    command += ["--quiet"] + (["--upgrade"] if upgrade else [])
    subprocess.run(command, cwd=repo, check=True)
    # uv rewrites the whole file, its own two header lines first; the digest goes after them.
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    note = [
        f"# inputs-sha256: {digest}\n",
        f"#    (requires-python, dependencies, extras {', '.join(lock.extras)}: scripts/lock.py)\n",
    ]
    target.write_text("".join(lines[:2] + note + lines[2:]), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default="uv", help="the uv executable")
    parser.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    args = parser.parse_args(argv)
    _check_uv(args.uv)
    pyproject = load_pyproject()
    for lock in LOCKS:
        write_lock(args.uv, lock, inputs_digest(pyproject, lock), args.upgrade)
        print(f"lock: {lock.path} ({', '.join(lock.extras)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
