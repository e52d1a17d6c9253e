"""The template world (decoder resources loaded once, the old location filled once); each test
works on a copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .world import World, copy_world, make_world, provider


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("template") / "world", provider())


@pytest.fixture
def world(template: World, tmp_path: Path) -> World:
    return copy_world(template, tmp_path / "world")
