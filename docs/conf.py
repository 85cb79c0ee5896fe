"""Sphinx configuration of the momentumlab documentation.

Build with ``tox -e docs`` (warnings are errors), or directly, then check the output
against the sources (pages, gallery figures, the bundled maths renderer)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
    python docs/check_build.py docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the gallery and the plot directive render headless

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's momentumlab, even without an install
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import momentumlab  # noqa: E402

project = "momentumlab"
author = "momentumlab developers"
copyright = "momentumlab developers"
version = release = momentumlab.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped in a wheel: copies it to ``_static/mathjax`` and points
    # ``mathjax_path`` there, so maths renders without a network (no CDN script).
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
    "momentumlab_api",
    # the example notebooks (examples/*.ipynb), executed at build time and shown with outputs
    "myst_nb",
]

exclude_patterns = [
    "_build",
    "_generated",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"
html_theme_options = {
    "description": "Run, check and picture optimizer experiments on MXNet Gluon",
    "fixed_sidebar": True,
    "page_width": "1180px",
    "sidebar_width": "230px",
}
html_title = f"momentumlab {release}"

# -- autodoc / autosummary / napoleon -------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"exclude-members": "__init__, __new__"}
autosummary_generate = False  # the pages come from momentumlab_api (one per module)
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # dataclass "Attributes:" as fields, not duplicate attribute entries
napoleon_use_rtype = False

# -- doctest builder: runs the ``.. doctest::`` blocks of the guide pages -------------------
# The docstrings' own examples run in the test suite (pytest --doctest-modules), so plain
# ``>>>`` blocks pulled in by autodoc are not run twice here.
doctest_test_doctest_blocks = ""
doctest_global_setup = "import matplotlib\nmatplotlib.use('Agg')\nimport momentumlab as ml"

# -- plot directive (getting started) ---------------------------------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams: dict[str, object] = {}

# -- sphinx-gallery: examples/plot_*.py, executed at build time ------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    # Only plot_*.py scripts are gallery entries (and all of them are executed); other
    # scripts in examples/ are command-line tools documented in the guide.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^(?!plot_.*\.py$)",  # matched against the bare file name
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "write_computation_times": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
    "show_memory": False,
    "plot_gallery": "True",
}


# -- notebooks (myst-nb) ----------------------------------------------------------------------
# examples/*.ipynb are committed without outputs; they are copied into docs/notebooks/ (a
# generated folder) and executed by the build, so the pages show fresh outputs.
import shutil  # noqa: E402

_NOTEBOOKS = HERE / "notebooks"
_NOTEBOOKS.mkdir(exist_ok=True)
for _old in _NOTEBOOKS.glob("*.ipynb"):
    _old.unlink()
for _nb in sorted((HERE.parent / "examples").glob("*.ipynb")):
    shutil.copyfile(_nb, _NOTEBOOKS / _nb.name)
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True


# -- the comparison report (guide/compare.rst) -------------------------------------------------
# The report's figures and text are generated, not committed: the build runs
# examples/compare_report.py once (about a minute) into docs/_generated/compare_report/
# (ignored by git) and the page includes what it wrote.
import subprocess  # noqa: E402
import tempfile  # noqa: E402

_REPORT = HERE / "_generated" / "compare_report"
if not (_REPORT / "profile.png").exists() or not (_REPORT / "output.txt").exists():
    _REPORT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as _tmp:
        _done = subprocess.run(
            [
                sys.executable,
                str(HERE.parent / "examples" / "compare_report.py"),
                "--store",
                str(Path(_tmp) / "compare.sqlite"),
                "--out",
                str(_REPORT),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE.parent,
        )
    (_REPORT / "output.txt").write_text(_done.stdout)
