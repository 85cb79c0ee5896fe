"""The docs' API generator: every public name is found, and undocumented ones fail the build."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sphinx")

ROOT = Path(__file__).resolve().parent.parent


def load_extension() -> Any:
    path = ROOT / "docs" / "_ext" / "momentumlab_api.py"
    spec = importlib.util.spec_from_file_location("momentumlab_api_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def api() -> Any:
    return load_extension()


def test_every_public_name_of_momentumlab_is_documented(api: Any) -> None:
    pages, problems = api.collect()
    assert problems == []
    modules = [p.module for p in pages]
    assert modules[0] == "momentumlab"
    assert {"momentumlab.data", "momentumlab.models", "momentumlab.optim", "momentumlab.runner"} <= set(
        modules
    )
    assert "momentumlab.viz" in modules
    assert not any(part.startswith("_") for m in modules for part in m.split("."))
    homes = {e.name: e.home for p in pages for e in p.entries}
    assert homes["RunConfig"] == "momentumlab.RunConfig"  # documented where users reach it
    assert homes["plot_sweep"] == "momentumlab.viz.plot_sweep"
    documented = {e.name for p in pages for e in p.entries}
    import momentumlab as ml

    assert set(ml.viz.__all__) <= documented


def test_rendered_page_has_autosummary_and_reexport_links(api: Any) -> None:
    pages, _ = api.collect()
    runner = next(p for p in pages if p.module == "momentumlab.runner")
    text = api.render(runner)
    assert ".. automodule:: momentumlab.runner" in text
    assert ":py:class:`momentumlab.RunConfig`" in text  # documented once, linked here
    top = api.render(pages[0])
    assert ".. autosummary::" in top
    assert ".. autoclass:: momentumlab.RunConfig" in top
    assert ".. py:data:: ScalarOrSchedule" in top  # a type alias
    assert ":py:class:`momentumlab.optim.Schedule`" in top or ".. autoclass:: momentumlab.Schedule" in top


def test_undocumented_names_are_reported(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = types.ModuleType("fakepkg", "A package.")
    pkg.__path__ = []

    def documented() -> None:
        """Has a docstring."""

    def bare() -> None:
        pass

    class Thing:
        """A class."""

        def method(self) -> None:
            pass

    for f in (documented, bare):
        f.__module__ = "fakepkg"
    Thing.__module__ = "fakepkg"
    pkg.documented = documented  # type: ignore[attr-defined]
    pkg.bare = bare  # type: ignore[attr-defined]
    pkg.Thing = Thing  # type: ignore[attr-defined]
    pkg.__all__ = ["Thing", "bare", "documented", "missing"]  # type: ignore[attr-defined]
    nodoc = types.ModuleType("fakepkg.sub")
    nodoc.__all__ = []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fakepkg", pkg)
    monkeypatch.setitem(sys.modules, "fakepkg.sub", nodoc)
    monkeypatch.setattr(api, "public_modules", lambda root="fakepkg": ["fakepkg", "fakepkg.sub"])
    _, problems = api.collect("fakepkg")
    assert sorted(problems) == [
        "fakepkg.Thing.method has no docstring",
        "fakepkg.__all__ lists 'missing', which fakepkg does not define",
        "fakepkg.bare has no docstring",
        "module fakepkg.sub has no docstring",
    ]
