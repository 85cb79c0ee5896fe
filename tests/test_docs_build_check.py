"""docs/check_build.py: it counts the right pages, passes a whole build and fails a broken one.

No real build here (that is .ci/run's job, minutes): a fake HTML folder is laid out from the
sources, checked whole, then broken one way at a time.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def load_checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_build_under_test", ROOT / "docs" / "check_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the dataclass looks its module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cb() -> Any:
    return load_checker()


@pytest.fixture(scope="module")
def sources(cb: Any) -> Any:
    pytest.importorskip("sphinx")  # the public-module list comes from the docs' API extension
    return cb.read_sources()


def test_expected_pages_are_counted_from_the_sources(cb: Any, sources: Any) -> None:
    rst = [
        p for p in (ROOT / "docs").rglob("*.rst")
        if not any(part in ("_build", "auto_examples", "generated") for part in p.relative_to(ROOT).parts)
        and p.name != "sg_execution_times.rst"
    ]
    scripts = sorted((ROOT / "examples").glob("plot_*.py"))
    subpackages = {f"momentumlab.{m}" for m in ("data", "models", "optim", "problems", "runner", "viz")}
    assert subpackages <= set(sources.modules)
    pages = sources.pages()
    notebooks = sorted((ROOT / "examples").glob("*.ipynb"))
    expected = len(rst) + 1 + len(scripts) + len(sources.modules) + len(notebooks)
    assert len(pages) == len(set(pages)) == expected
    assert "notebooks/momentum_gluon.html" in pages
    for must in ("index.html", "guide/cli.html", "guide/theory.html", "auto_examples/index.html",
                 "auto_examples/plot_schedules.html", "api/generated/momentumlab.viz.html"):
        assert must in pages
    assert {"guide/theory", "guide/optim"} <= sources.math


def fake_build(root: Path, sources: Any) -> Path:
    """An HTML folder that holds everything the sources promise, as sphinx-build lays it out."""
    html = root / "html"
    mathjax = html / "_static" / "mathjax" / "tex-chtml.js"
    mathjax.parent.mkdir(parents=True)
    mathjax.write_bytes(b"/* MathJax */" + b" " * 200_000)
    fonts = html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    fonts.mkdir(parents=True)
    (fonts / "MathJax_Main-Regular.woff").write_bytes(b"wOFF")
    (html / "_images").mkdir()
    for rel in sources.pages():
        page = html / rel
        page.parent.mkdir(parents=True, exist_ok=True)
        up = "../" * rel.count("/")
        body = ['<script src="' + up + '_static/doctools.js?v=1"></script>']
        name = rel[: -len(".html")]
        if name in sources.math or rel.startswith("api/"):
            body.append(f'<script defer="defer" src="{up}_static/mathjax/tex-chtml.js"></script>')
            body.append('<span class="math notranslate nohighlight">\\(x^2\\)</span>')
        stem = name.split("/")[-1]
        if rel.startswith("auto_examples/plot_"):
            (html / "_images" / f"sphx_glr_{stem}_001.png").write_bytes(PNG)
            (html / "_images" / f"sphx_glr_{stem}_thumb.png").write_bytes(PNG)
            img = f"../_images/sphx_glr_{stem}_001.png"
            body.append(f'<img alt="x" class="sphx-glr-single-img" src="{img}" />')
        if rel.startswith("notebooks/"):
            body.append('<img alt="output" src="data:image/png;base64,iVBORw0KGgo=" />')
        page.write_text("<html><head></head><body>" + "\n".join(body) + "</body></html>")
    return html


def test_a_whole_build_passes(cb: Any, sources: Any, tmp_path: Path) -> None:
    html = fake_build(tmp_path, sources)
    assert cb.check(html, sources) == []


def test_a_notebook_page_without_outputs_fails(cb: Any, sources: Any, tmp_path: Path) -> None:
    html = fake_build(tmp_path, sources)
    (html / "notebooks" / "momentum_gluon.html").write_text("<html><body>no outputs</body></html>")
    assert cb.check(html, sources) == [
        "notebook page notebooks/momentum_gluon.html shows no image output (not executed?)"
    ]


def _drop_page(html: Path) -> None:
    (html / "guide" / "cli.html").unlink()


def _drop_api_page(html: Path) -> None:
    (html / "api" / "generated" / "momentumlab.viz.html").unlink()


def _drop_gallery_page(html: Path) -> None:
    (html / "auto_examples" / "plot_schedules.html").unlink()


def _drop_figure(html: Path) -> None:
    (html / "_images" / "sphx_glr_plot_schedules_001.png").unlink()


def _figure_not_png(html: Path) -> None:
    (html / "_images" / "sphx_glr_plot_schedules_001.png").write_bytes(b"<svg/>")


def _page_without_figure(html: Path) -> None:
    page = html / "auto_examples" / "plot_schedules.html"
    text = page.read_text().replace("sphx_glr_plot_schedules_001.png", "sphx_glr_plot_schedules_thumb.png")
    page.write_text(text)


def _drop_mathjax(html: Path) -> None:
    (html / "_static" / "mathjax" / "tex-chtml.js").unlink()


def _drop_fonts(html: Path) -> None:
    for f in (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").iterdir():
        f.unlink()


def _cdn_mathjax(html: Path) -> None:
    page = html / "guide" / "theory.html"
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    page.write_text(page.read_text().replace("../_static/mathjax/tex-chtml.js", cdn))


def _maths_lost(html: Path) -> None:
    page = html / "guide" / "theory.html"
    page.write_text(page.read_text().replace('class="math notranslate nohighlight"', 'class="pre"'))


def _remote_stylesheet(html: Path) -> None:
    page = html / "index.html"
    page.write_text(page.read_text().replace(
        "<head>", '<head><link rel="stylesheet" href="//fonts.example.org/a.css" />'))


BREAKS: dict[str, tuple[Callable[[Path], None], str]] = {
    "guide page": (_drop_page, "missing page guide/cli.html"),
    "API page": (_drop_api_page, "missing page api/generated/momentumlab.viz.html"),
    "gallery page": (_drop_gallery_page, "missing page auto_examples/plot_schedules.html"),
    "figure file": (_drop_figure, "figure ../_images/sphx_glr_plot_schedules_001.png is missing"),
    "figure not a PNG": (_figure_not_png, "sphx_glr_plot_schedules_001.png is not a PNG"),
    "figure not shown": (_page_without_figure, "plot_schedules.html shows no figure of plot_schedules.py"),
    "MathJax": (_drop_mathjax, "the maths renderer _static/mathjax/tex-chtml.js is missing"),
    "MathJax fonts": (_drop_fonts, "fonts _static/mathjax/output/chtml/fonts/woff-v2/*.woff are missing"),
    "CDN script": (_cdn_mathjax, "page guide/theory.html loads https://cdn.jsdelivr.net/"),
    "maths gone": (_maths_lost, "page guide/theory.html shows no maths, but guide/theory.rst has some"),
    "remote stylesheet": (_remote_stylesheet, "page index.html loads //fonts.example.org/a.css"),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_broken_build_fails_naming_what_broke(cb: Any, sources: Any, tmp_path: Path, name: str) -> None:
    html = fake_build(tmp_path, sources)
    breaker, expected = BREAKS[name]
    breaker(html)
    problems = cb.check(html, sources)
    assert problems, name
    assert any(expected in p for p in problems), problems


def test_an_empty_build_fails_on_every_page_and_the_command_exits_1(
    cb: Any, sources: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problems = cb.check(tmp_path, sources)
    assert len([p for p in problems if p.startswith("missing page")]) == len(sources.pages())
    assert cb.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "check_build: missing page index.html" in out
    assert "FAILED" in out


def test_no_sources_is_no_check(cb: Any, tmp_path: Path) -> None:
    empty = cb.Sources((), frozenset(), (), ())
    assert cb.check(tmp_path, empty) != []
