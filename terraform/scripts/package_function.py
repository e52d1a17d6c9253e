"""Assemble and zip one function's source for Cloud Functions.

Cloud Functions (Python) wants ``main.py`` and ``requirements.txt`` at the root of the source; a
function also needs the package and the bundled schemas beside them:

    build/<function>-source/
        main.py             <- functions/<function>/main.py (its entry point)
        requirements.txt    <- requirements.txt (the runtime dependencies, pinned)
        ingestion/          <- shared/ingestion, without caches and without what production
                               never runs: local/ (emulators, demos, demo data) and cli/
        schemas/            <- schemas/
    build/<function>-source.zip

The zip is reproducible (sorted entries, fixed timestamps and modes), so an unchanged source
gives the same bytes and the same MD5; the Terraform module names the uploaded object after that
MD5, so only a real change redeploys the function.

Usage: python terraform/scripts/package_function.py [--function NAME] [--repo DIR] [--build-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FUNCTION = "decoder"


def layout(function: str) -> tuple[tuple[str, str], ...]:
    """(path in the repository, path in the package) for ``function``."""
    return (
        (f"functions/{function}/main.py", "main.py"),
        ("requirements.txt", "requirements.txt"),
        ("shared/ingestion", "ingestion"),
        ("schemas", "schemas"),
    )


LAYOUT = layout(DEFAULT_FUNCTION)
EXCLUDED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
# Parts of the package that production never imports (a test keeps the import rules).
EXCLUDED_PACKAGE_PARTS = frozenset({"local", "cli"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# 1980-01-01, the earliest time a zip entry can carry.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class PackagingError(Exception):
    """A file the package needs is missing."""


def _included(path: Path, destination: str) -> bool:
    if EXCLUDED_DIRS.intersection(path.parts) or path.name.endswith(EXCLUDED_SUFFIXES):
        return False
    return not (destination == "ingestion" and path.parts[0] in EXCLUDED_PACKAGE_PARTS)


def _files(root: Path, destination: str) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and _included(path.relative_to(root), destination):
            yield path


def assemble(repo: Path, target: Path, function: str = DEFAULT_FUNCTION) -> list[str]:
    """Copy the layout into a fresh ``target`` directory; return the package paths, sorted."""
    missing = [source for source, _ in layout(function) if not (repo / source).exists()]
    if missing:
        raise PackagingError(f"missing in {repo}: {', '.join(missing)}")
    if target.exists():
        shutil.rmtree(target)
    packaged: list[str] = []
    for source, destination in layout(function):
        source_root = repo / source
        for path in _files(source_root, destination):
            relative = Path(destination)
            if source_root.is_dir():
                relative = relative / path.relative_to(source_root)
            copy = target / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            packaged.append(relative.as_posix())
    return sorted(packaged)


def write_zip(source_dir: Path, names: list[str], archive: Path) -> str:
    """Zip ``names`` (relative to ``source_dir``) reproducibly; return the archive's MD5."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(names):
            entry = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            bundle.writestr(entry, (source_dir / name).read_bytes())
    return hashlib.md5(archive.read_bytes()).hexdigest()


def package(repo: Path, build_dir: Path, function: str = DEFAULT_FUNCTION) -> tuple[Path, str]:
    source_dir = build_dir / f"{function}-source"
    names = assemble(repo, source_dir, function)
    archive = build_dir / f"{function}-source.zip"
    return archive, write_zip(source_dir, names, archive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--function", default=DEFAULT_FUNCTION, help="a folder of functions/ (default: decoder)"
    )
    parser.add_argument("--repo", type=Path, default=REPO, help="repository root")
    parser.add_argument("--build-dir", type=Path, help="output directory (default: REPO/build)")
    args = parser.parse_args(argv)
    build_dir = args.build_dir if args.build_dir is not None else args.repo / "build"
    try:
        archive, md5 = package(args.repo, build_dir, args.function)
    except PackagingError as exc:
        print(f"package_function: {exc}", file=sys.stderr)
        return 2
    print(f"{archive} md5={md5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
