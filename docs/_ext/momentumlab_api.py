"""Generate the API reference from the packages' ``__all__`` and fail on undocumented names.

At ``builder-inited`` this walks every public module of momentumlab (``momentumlab`` and
each submodule whose dotted path has no ``_``-prefixed part, found with ``pkgutil``, so a
package added later is picked up without editing a list), reads its ``__all__`` (or its
public top-level definitions when it has none) and writes one page per module into
``api/generated/``: the module docstring, an autosummary table, and an autodoc entry for
each object. An object re-exported by several modules is documented once, at the first
module in walk order (``momentumlab`` first, so ``ml.RunConfig`` is documented as users
spell it); the others link to it.

The build fails (an ``ExtensionError`` listing every problem) when a public module has no
docstring, a name in ``__all__`` does not exist, a public function, class, method or
property has no docstring of its own, or a type alias has no ``#:`` comment. After reading,
it checks that every documented name really became an entry of the Python domain.

It also appends to ``index`` a toctree of any top-level page that no toctree lists, so a
page dropped into ``docs/`` by another change is linked without editing ``index.rst``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError, PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT_PACKAGE = "momentumlab"
OUT_DIR = Path("api") / "generated"
KNOWN_TOP_PAGES = {"index", "getting_started", "api", "sg_execution_times"}


@dataclass
class Entry:
    """One public name of one module."""

    name: str
    obj: Any
    kind: str  # "module", "class", "function", "data"
    home: str  # full dotted name where it is documented
    doc: str = ""


@dataclass
class ModulePage:
    """What one generated page holds."""

    module: str
    entries: list[Entry] = field(default_factory=list)


def public_modules(root: str = ROOT_PACKAGE) -> list[str]:
    """Every importable public module under ``root``, ``root`` first, then sorted."""
    pkg = importlib.import_module(root)
    names = [root]
    for info in pkgutil.walk_packages(pkg.__path__, root + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return [root, *sorted(set(names) - {root})]


def _exported(module: types.ModuleType) -> tuple[list[str], bool]:
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return list(declared), True
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        if getattr(obj, "__module__", None) == module.__name__:
            names.append(name)
    return sorted(names), False


def _kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or isinstance(obj, types.MethodType):
        return "function"
    return "data"


def _own_doc(obj: Any) -> str:
    if inspect.isclass(obj):
        return inspect.cleandoc(obj.__dict__.get("__doc__") or "")
    return inspect.cleandoc(getattr(obj, "__doc__", None) or "")


def _alias_doc(name: str, obj: Any, exporter: str) -> str:
    """The ``#:`` comment documenting ``name`` in the module that defines it."""
    candidates = [exporter, *sorted(m for m in sys.modules if m.startswith(ROOT_PACKAGE + "."))]
    for modname in candidates:
        module = sys.modules.get(modname)
        if module is None or vars(module).get(name, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except PycodeError:  # a module without source simply has no comments
            continue
        lines = docs.get(("", name))
        if lines:
            return "\n".join(lines).strip()
    return ""


def _member_problems(qualname: str, cls: type) -> list[str]:
    problems = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        target = value.fget if isinstance(value, property) else value
        if isinstance(target, (staticmethod, classmethod)):
            target = target.__func__
        if inspect.isfunction(target) and not (target.__doc__ or "").strip():
            problems.append(f"{qualname}.{attr} has no docstring")
    return problems


def collect(root: str = ROOT_PACKAGE) -> tuple[list[ModulePage], list[str]]:
    """The pages to write and the list of documentation problems found."""
    problems: list[str] = []
    homes: dict[int, str] = {}
    pages: list[ModulePage] = []
    for modname in public_modules(root):
        module = importlib.import_module(modname)
        if not (module.__doc__ or "").strip():
            problems.append(f"module {modname} has no docstring")
        names, declared = _exported(module)
        if not declared and modname.count(".") == 1 and (Path(module.__file__ or "").name == "__init__.py"):
            problems.append(f"package {modname} has no __all__")
        page = ModulePage(modname)
        for name in names:
            if not hasattr(module, name):
                problems.append(f"{modname}.__all__ lists {name!r}, which {modname} does not define")
                continue
            obj = getattr(module, name)
            kind = _kind(obj)
            full = f"{modname}.{name}"
            if kind == "module":
                page.entries.append(Entry(name, obj, kind, obj.__name__))
                continue
            home = homes.setdefault(id(obj), full)
            if kind == "data":
                doc = _alias_doc(name, obj, modname)
                if not doc and home == full:
                    problems.append(f"{full} (a type alias or constant) has no '#:' comment")
            else:
                doc = _own_doc(obj)
                if not doc and home == full:
                    problems.append(f"{full} has no docstring")
                if kind == "class" and home == full:
                    problems.extend(_member_problems(full, obj))
            page.entries.append(Entry(name, obj, kind, home, doc))
        pages.append(page)
    return pages, problems


def _alias_repr(obj: Any) -> str:
    text = repr(obj).replace("numpy.ndarray[Any, numpy.dtype[Any]]", "Array")
    return text.replace("typing.", "").replace("collections.abc.", "")


def _indent(text: str, by: str = "   ") -> str:
    return "\n".join((by + line) if line.strip() else "" for line in text.splitlines())


def render(page: ModulePage) -> str:
    """The reST of one module's page."""
    mod = page.module
    title = f"``{mod}``"
    out = [
        f".. _api-{mod}:",
        "",
        title,
        "=" * len(title),
        "",
        f".. automodule:: {mod}",
        "   :no-members:",
        "",
    ]
    subs = [e for e in page.entries if e.kind == "module"]
    own = [e for e in page.entries if e.kind in ("class", "function") and e.home == f"{mod}.{e.name}"]
    data = [e for e in page.entries if e.kind == "data" and e.home == f"{mod}.{e.name}"]
    elsewhere = [e for e in page.entries if e.kind != "module" and e.home != f"{mod}.{e.name}"]
    if subs:
        out += ["Subpackages", "-----------", ""]
        out += [f"* :ref:`{e.home} <api-{e.home}>`" for e in subs] + [""]
    if own:
        out += [
            "Summary",
            "-------",
            "",
            ".. currentmodule:: " + mod,
            "",
            ".. autosummary::",
            "   :nosignatures:",
            "",
        ]
        out += [f"   {e.name}" for e in own] + [""]
    if data:
        out += ["Types", "-----", ""]
        for e in data:
            out += [f".. py:data:: {e.name}", f"   :module: {mod}", "", _indent(e.doc), ""]
            out += [f"   Defined as ``{_alias_repr(e.obj)}``.", ""]
    if own:
        out += ["Reference", "---------", ""]
        for e in own:
            if e.kind == "class":
                out += [f".. autoclass:: {mod}.{e.name}", "   :members:", "   :show-inheritance:", ""]
            else:
                out += [f".. autofunction:: {mod}.{e.name}", ""]
    if elsewhere:
        out += ["Also available here", "--------------------", ""]
        for e in elsewhere:
            role = {"class": "class", "function": "func"}.get(e.kind, "data")
            out += [f"* ``{e.name}``: :py:{role}:`{e.home}`"]
        out += [""]
    return "\n".join(out)


def _generate(app: Sphinx) -> None:
    pages, problems = collect()
    if problems:
        for p in problems:
            logger.error("undocumented public API: %s", p)
        raise ExtensionError(
            "the public API is not fully documented:\n  " + "\n  ".join(problems),
        )
    outdir = Path(app.srcdir) / OUT_DIR
    outdir.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for page in pages:
        path = outdir / f"{page.module}.rst"
        text = render(page)
        wanted.add(path.name)
        if not path.exists() or path.read_text() != text:  # keep mtimes: no needless rebuilds
            path.write_text(text)
    for stale in outdir.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()


def _check_entries(app: Sphinx, env: Any) -> None:
    """Every home name must have become a Python-domain object."""
    pages, _ = collect()
    objects = env.get_domain("py").objects
    missing = sorted(
        e.home for page in pages for e in page.entries if e.kind != "module" and e.home not in objects
    )
    if missing:
        raise ExtensionError("public names missing from the API pages: " + ", ".join(missing))


def _link_orphan_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    src = Path(app.srcdir)
    extra = sorted(
        p.stem
        for p in src.glob("*.rst")
        if p.stem not in KNOWN_TOP_PAGES and f"\n   {p.stem}\n" not in source[0]
    )
    if extra:
        source[0] += "\n.. toctree::\n   :maxdepth: 1\n   :caption: More\n\n" + "".join(
            f"   {n}\n" for n in extra
        )


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the hooks."""
    app.connect("builder-inited", _generate)
    app.connect("env-check-consistency", _check_entries)
    app.connect("source-read", _link_orphan_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
