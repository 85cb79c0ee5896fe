"""Check that a built HTML documentation holds what its sources promise.

``sphinx-build`` can exit 0 having written little: a gallery script that calls ``sys.exit``
ends the whole build, a figure drawn off pyplot never reaches the gallery, and maths loaded
from a CDN shows as raw TeX offline. This script counts the output against the sources and
exits 1 with one line per problem when:

* a page is missing: one per ``docs/**/*.rst`` (generated folders aside), the gallery's index
  and one page per ``examples/plot_*.py``, and one API page per public module (the list
  ``docs/_ext/momentumlab_api.py`` generates pages for);
* a gallery page references no figure ``_images/sphx_glr_<script>_NNN.png``, or a figure it
  references is missing or not a PNG;
* a page whose source has maths shows none, a page with maths does not load the bundled
  MathJax (``_static/mathjax/tex-chtml.js``), or MathJax or its fonts are missing;
* an example notebook (``examples/*.ipynb``) has no page ``notebooks/<name>.html``, or its
  page shows no image output (the build executes the notebooks; an image proves it did);
* any page loads a script or a stylesheet from the network.

Run after the HTML build (``.ci/run`` does)::

    python docs/check_build.py docs/_build/html
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
#: Source folders that the build itself writes (the gallery's and the API generator's) and
#: the build output: their pages are counted from ``examples/`` and the public modules.
GENERATED = ("_build", "auto_examples", "api/generated", "notebooks")
GENERATED_FILES = ("sg_execution_times.rst",)
GALLERY = "auto_examples"
API = "api/generated"
NOTEBOOKS = "notebooks"
MATHJAX = "_static/mathjax/tex-chtml.js"
MATHJAX_FONTS = "_static/mathjax/output/chtml/fonts/woff-v2"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_MATH_SOURCE = re.compile(r":math:`|^\s*\.\. math::", re.MULTILINE)
_MATH_HTML = re.compile(r'class="math[ "]')
_REMOTE = re.compile(
    r"<(?:script[^>]*\bsrc|link[^>]*\bhref)\s*=\s*\"((?:https?:)?//[^\"]*)\"", re.IGNORECASE
)
_SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc\s*=\s*\"([^\"]*)\"", re.IGNORECASE)
_IMG_SRC = re.compile(r"<img[^>]*\bsrc\s*=\s*\"([^\"]*)\"", re.IGNORECASE)


@dataclass(frozen=True)
class Sources:
    """What the build should contain: the guide sources, the gallery scripts, the API modules."""

    rst: tuple[str, ...]  # page names relative to docs/, without suffix, e.g. "guide/cli"
    math: frozenset[str]  # those of ``rst`` whose source has maths
    gallery: tuple[str, ...]  # script stems, e.g. "plot_schedules"
    modules: tuple[str, ...]  # public modules, e.g. "momentumlab.viz"
    notebooks: tuple[str, ...] = ()  # example notebook stems, e.g. "momentum_gluon"

    def pages(self) -> list[str]:
        """Every HTML file the build must write, relative to the output folder."""
        out = [f"{name}.html" for name in self.rst]
        out.append(f"{GALLERY}/index.html")
        out += [f"{GALLERY}/{stem}.html" for stem in self.gallery]
        out += [f"{API}/{mod}.html" for mod in self.modules]
        out += [f"{NOTEBOOKS}/{stem}.html" for stem in self.notebooks]
        return out


def _public_modules() -> tuple[str, ...]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(DOCS / "_ext"))
    import momentumlab_api  # the API pages' own list: one place

    return tuple(momentumlab_api.public_modules())


def read_sources(
    docs: Path = DOCS, examples: Path = ROOT / "examples", modules: Iterable[str] | None = None
) -> Sources:
    """Read the expected pages from the source folders (and the importable public modules)."""
    rst, math = [], set()
    for path in sorted(docs.rglob("*.rst")):
        rel = path.relative_to(docs).as_posix()
        if rel in GENERATED_FILES or any(rel.startswith(g + "/") for g in GENERATED):
            continue
        name = rel[: -len(".rst")]
        rst.append(name)
        if _MATH_SOURCE.search(path.read_text(encoding="utf-8")):
            math.add(name)
    gallery = tuple(p.stem for p in sorted(examples.glob("plot_*.py")))
    mods = tuple(modules) if modules is not None else _public_modules()
    notebooks = tuple(p.stem for p in sorted(examples.glob("*.ipynb")))
    return Sources(tuple(rst), frozenset(math), gallery, mods, notebooks)


def _resolve(page: Path, src: str) -> Path:
    return (page.parent / src.split("?", 1)[0].split("#", 1)[0]).resolve()


def check(html: Path, sources: Sources) -> list[str]:
    """Every problem of the build in ``html`` against ``sources``; an empty list when it is whole."""
    problems: list[str] = []
    if not sources.rst or not sources.gallery or not sources.modules:
        problems.append(f"the sources list no pages ({sources}): nothing to check against")
    for rel in sources.pages():
        if not (html / rel).is_file():
            problems.append(f"missing page {rel}")
    for stem in sources.gallery:
        page = html / GALLERY / f"{stem}.html"
        if not page.is_file():
            continue
        figures = [
            src for src in _IMG_SRC.findall(page.read_text(encoding="utf-8"))
            if re.search(rf"_images/sphx_glr_{re.escape(stem)}_\d+\.png$", src)
        ]
        if not figures:
            problems.append(f"gallery page {GALLERY}/{stem}.html shows no figure of {stem}.py")
        for src in figures:
            target = _resolve(page, src)
            if not target.is_file():
                problems.append(f"gallery page {GALLERY}/{stem}.html: figure {src} is missing")
            elif target.read_bytes()[:8] != PNG_MAGIC:
                problems.append(f"gallery page {GALLERY}/{stem}.html: figure {src} is not a PNG")
    for stem in sources.notebooks:
        page = html / NOTEBOOKS / f"{stem}.html"
        if page.is_file() and not any(
            src.startswith("data:image/") or _resolve(page, src).is_file()
            for src in _IMG_SRC.findall(page.read_text(encoding="utf-8"))
        ):
            problems.append(f"notebook page {NOTEBOOKS}/{stem}.html shows no image output (not executed?)")
    for name in sorted(sources.math):
        page = html / f"{name}.html"
        if page.is_file() and not _MATH_HTML.search(page.read_text(encoding="utf-8")):
            problems.append(f"page {name}.html shows no maths, but {name}.rst has some")
    mathjax = (html / MATHJAX).resolve()
    math_pages = 0
    for page in sorted(html.rglob("*.html")):
        rel = page.relative_to(html).as_posix()
        text = page.read_text(encoding="utf-8", errors="replace")
        for url in _REMOTE.findall(text):
            problems.append(f"page {rel} loads {url} from the network")
        if _MATH_HTML.search(text):
            math_pages += 1
            if mathjax not in {_resolve(page, s) for s in _SCRIPT_SRC.findall(text)}:
                problems.append(f"page {rel} has maths but does not load the bundled {MATHJAX}")
    if math_pages:
        if not mathjax.is_file() or mathjax.stat().st_size < 100_000:
            problems.append(f"the maths renderer {MATHJAX} is missing (or truncated)")
        if not any((html / MATHJAX_FONTS).glob("*.woff")):
            problems.append(f"the maths renderer's fonts {MATHJAX_FONTS}/*.woff are missing")
    elif sources.math:
        problems.append("no page shows maths")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Check the build folder named on the command line; print the problems; 1 if any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("html", type=Path, help="the sphinx-build HTML output folder")
    args = parser.parse_args(argv)
    sources = read_sources()
    problems = check(args.html, sources)
    for p in problems:
        print(f"check_build: {p}")
    n_pages = len(sources.pages())
    status = "FAILED" if problems else "ok"
    print(
        f"check_build: {status}: {n_pages} expected pages ({len(sources.rst)} guide, "
        f"{len(sources.gallery) + 1} gallery, {len(sources.modules)} API, "
        f"{len(sources.notebooks)} notebooks), "
        f"{len(sources.math)} guide pages with maths, {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
