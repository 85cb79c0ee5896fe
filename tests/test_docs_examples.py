"""The docs' command lines and TOML files run exactly as printed, and print what they show.

Generic over the text: it extracts, from README.md and every docs/**/*.rst,

* ``.. code-block:: toml`` blocks, each with a ``:caption:`` naming its file (written to a
  fresh folder per document before that document's commands run);
* ``.. code-block:: console`` blocks (and README ```console/```bash fences): a line
  ``$ momentumlab ...`` is a command (README bash lines need no ``$``), the lines after it up
  to the next command are its printed output, compared like a doctest (``...`` elides,
  whitespace runs are equal). The commands of a document run in order in that folder, as
  ``python -m momentumlab.cli``; every file a command names (``--out``, ``--store``,
  ``--csv``, ...) must exist afterwards, and a ``.png`` must be a PNG. A command naming
  ``--scheduler ADDRESS`` gets a Dask scheduler and one worker started at that address.

So when the config API changes, only the docs' text changes: this file names no option.

It also checks every ``pip install`` the README and the docs print: the package is installed
from a checkout (``pip install -e ".[extra]"``, each extra in pyproject.toml), never by name
from an index, and a third-party install carries the ``numpy<1.24`` pin. The slow test runs
the README's install commands in a fresh virtual environment.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("_build", "auto_examples", "generated")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FILE_SUFFIXES = (".png", ".sqlite", ".csv", ".json", ".toml")
CHECK_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def doc_files() -> list[Path]:
    docs = [
        p for p in sorted((ROOT / "docs").rglob("*.rst"))
        if not any(part in GENERATED for part in p.relative_to(ROOT / "docs").parts)
    ]
    return [ROOT / "README.md", *docs]


@dataclass
class Block:
    """One code block of a document."""

    doc: str
    line: int
    lang: str
    text: str
    caption: str | None = None


@dataclass
class Command:
    """One printed command and the output printed under it."""

    doc: str
    line: int
    argv: list[str]
    expected: str
    text: str = field(default="")


_RST_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]*(?P<lang>\S+)[ \t]*$", re.MULTILINE)
_MD_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def rst_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks = []
    for m in _RST_BLOCK.finditer(text):
        start = text.count("\n", 0, m.start())
        indent = len(m["indent"])
        i = start + 1
        caption = None
        while i < len(lines) and re.match(r"^\s+:\w[\w-]*:", lines[i]):  # directive options
            opt = re.match(r"^\s+:caption:\s*(.+?)\s*$", lines[i])
            caption = opt[1] if opt else caption
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        body: list[str] = []
        first = i
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        dedent = min((len(s) - len(s.lstrip()) for s in body if s.strip()), default=0)
        block_text = "\n".join(s[dedent:] for s in body).strip("\n") + "\n"
        blocks.append(Block(path.name, first + 1, m["lang"], block_text, caption))
    return blocks


def md_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [
        Block(path.name, text.count("\n", 0, m.start()) + 2, m["lang"], m["body"])
        for m in _MD_FENCE.finditer(text)
    ]


def blocks_of(path: Path) -> list[Block]:
    return md_blocks(path) if path.suffix == ".md" else rst_blocks(path)


def commands_of(block: Block) -> list[Command]:
    """The ``momentumlab`` commands of a console (or bash) block, with their printed output."""
    out: list[Command] = []
    for offset, raw in enumerate(block.text.splitlines()):
        line = raw.rstrip()
        is_prompt = line.startswith("$ ")
        cmd = line[2:] if is_prompt else line
        if is_prompt or (block.lang == "bash" and cmd.startswith("momentumlab ")):
            argv = shlex.split(cmd, comments=True)
            if argv and argv[0] == "momentumlab":
                out.append(Command(block.doc, block.line + offset, argv, "", cmd))
            elif is_prompt:
                out.append(Command(block.doc, block.line + offset, argv, "", cmd))
        elif out and block.lang == "console":
            out[-1].expected += line + "\n"
    return out


@dataclass
class DocExamples:
    """What one document asks to run."""

    path: Path
    files: dict[str, str]
    commands: list[Command]


def examples_of(path: Path) -> DocExamples:
    files: dict[str, str] = {}
    commands: list[Command] = []
    for block in blocks_of(path):
        if block.lang == "toml":
            assert block.caption, f"{block.doc}:{block.line}: a toml block needs ':caption: FILE.toml'"
            assert block.caption not in files, f"{block.doc}:{block.line}: {block.caption} given twice"
            files[block.caption] = block.text
        elif block.lang in ("console", "bash", "shell-session"):
            commands += commands_of(block)
    return DocExamples(path, files, commands)


ALL = [examples_of(p) for p in doc_files()]
RUNNABLE = [d for d in ALL if any(c.argv[:1] == ["momentumlab"] for c in d.commands) or d.files]


def test_extraction_finds_the_cli_guide() -> None:
    cli = next(d for d in ALL if d.path.name == "cli.rst")
    subcommands = {c.argv[1] for c in cli.commands if c.argv[0] == "momentumlab"}
    assert subcommands == {"run", "sweep", "report"}
    assert "spec.toml" in cli.files
    assert all(c.expected for c in cli.commands), "every command shows what it prints"


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_printed_command_is_in_a_block_that_runs(path: Path) -> None:
    """A ``$ momentumlab`` line in a plain ``::`` block would never be run: forbid it."""
    text = path.read_text(encoding="utf-8")
    printed = len(re.findall(r"^\s*(?:\$ )momentumlab\b", text, re.MULTILINE))
    extracted = sum(c.argv[:1] == ["momentumlab"] for c in examples_of(path).commands)
    assert extracted == printed, f"{path.name}: put '$ momentumlab' lines in '.. code-block:: console'"
    for d in ALL:
        for c in d.commands:
            where = f"{c.doc}:{c.line}: '$ {c.text}'"
            assert c.argv[:1] == ["momentumlab"], f"{where} is not a momentumlab command"


def test_toml_blocks_parse_and_are_used() -> None:
    seen = 0
    for d in ALL:
        for name, text in d.files.items():
            tomllib.loads(text)
            used = [c for c in d.commands if name in c.argv]
            assert used, f"{d.path.name}: {name} is shown but no command of the page reads it"
            seen += 1
    assert seen >= 1


def _named_files(argv: list[str]) -> list[str]:
    return [a for a in argv[1:] if a.endswith(FILE_SUFFIXES) and not a.startswith("-")]


@pytest.fixture
def start_scheduler() -> Iterator[Callable[[str], None]]:
    """Starts a Dask scheduler and one worker at an address; all are stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}

    def start(address: str) -> None:
        host, port = address.removeprefix("tcp://").rsplit(":", 1)
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", host, "--port", port,
             "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        started.append(scheduler)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or scheduler.poll() is not None:
                    raise
                time.sleep(0.2)
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--nworkers", "1", "--no-nanny", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        ))

    try:
        yield start
    finally:
        for proc in reversed(started):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_command(cmd: Command, cwd: Path) -> None:
    where = f"{cmd.doc}:{cmd.line}: $ {cmd.text}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "momentumlab.cli", *cmd.argv[1:]],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False, env=env,
    )
    assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr[-3000:]}"
    checker = doctest.OutputChecker()
    if not checker.check_output(cmd.expected, done.stdout, CHECK_FLAGS):
        diff = checker.output_difference(
            doctest.Example(cmd.text, cmd.expected), done.stdout, CHECK_FLAGS
        )
        pytest.fail(f"{where}: the output differs from the docs\n{diff}")
    for name in _named_files(cmd.argv):
        path = cwd / name
        assert path.is_file(), f"{where}: {name} was not written"
        assert path.stat().st_size > 0, f"{where}: {name} is empty"
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_MAGIC, f"{where}: {name} is not a PNG"


@pytest.mark.parametrize("doc", RUNNABLE, ids=lambda d: d.path.relative_to(ROOT).as_posix())
def test_the_documents_commands_run_as_printed(
    doc: DocExamples, tmp_path: Path, start_scheduler: Callable[[str], None]
) -> None:
    for name, text in doc.files.items():
        (tmp_path / name).write_text(text)
    for cmd in doc.commands:
        if "--scheduler" in cmd.argv:
            start_scheduler(cmd.argv[cmd.argv.index("--scheduler") + 1])
        run_command(cmd, tmp_path)


# --------------------------------------------------------------------------- install commands

_PIP = re.compile(r"pip install ([^`\n&#]*)")


def pyproject_extras() -> set[str]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(doc["project"]["optional-dependencies"])


def pip_installs(path: Path) -> list[tuple[int, list[str]]]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in _PIP.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        args = shlex.split(m[1].strip().rstrip("),:;").strip()) if m[1].strip() else []
        out.append((line, args))
    return out


def install_problems(args: list[str]) -> list[str]:
    """Why a printed ``pip install ARGS`` is wrong for this project (an empty list if it is right)."""
    extras = pyproject_extras()
    targets = [a for a in args if not a.startswith("-")]
    problems = []
    if not targets:
        return ["installs nothing"]
    for target in targets:
        name = re.split(r"[\[<>=!~ ]", target, maxsplit=1)[0]
        if name == "momentumlab":
            problems.append(f"{target!r}: momentumlab is on no index; install the checkout: pip install -e .")
        elif name == ".":
            if "-e" not in args:
                problems.append(f"{target!r} without -e (the docs and the tests expect an editable checkout)")
            wanted = re.findall(r"[\w-]+", target[target.index("[") :]) if "[" in target else []
            missing = sorted(set(wanted) - extras)
            if missing:
                problems.append(f"{target!r}: no such extra {missing} in pyproject.toml ({sorted(extras)})")
    third_party = [t for t in targets if not t.startswith((".", "momentumlab", "numpy"))]
    if third_party and not any(t.replace(" ", "").startswith("numpy<1.24") for t in targets):
        problems.append(f"{' '.join(args)!r}: a third-party install without the \"numpy<1.24\" pin")
    return problems


def test_install_checker_rejects_the_wrong_forms() -> None:
    assert install_problems(["momentumlab[datasets]"])
    assert install_problems([".[datasets]"])  # not editable
    assert install_problems(["-e", ".[nosuchextra]"])
    assert install_problems(["pandas"])
    assert install_problems([])
    assert install_problems(["-q", "-e", ".[test,docs]"]) == []
    assert install_problems(["-e", "."]) == []
    assert install_problems(["pandas", "numpy<1.24"]) == []


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_printed_installs_match_pyproject(path: Path) -> None:
    bad = [f"{path.name}:{line}: {p}" for line, args in pip_installs(path) for p in install_problems(args)]
    assert bad == []


def test_readme_installs_are_found_and_ci_runs_the_test_command() -> None:
    installs = pip_installs(ROOT / "README.md")
    assert len(installs) >= 3
    readme_bash = [b for b in md_blocks(ROOT / "README.md") if b.lang == "bash"]
    test_command = next(b.text.strip() for b in readme_bash if "pytest" in b.text)
    assert test_command in (ROOT / ".ci" / "run").read_text(), "CI runs the README's test command verbatim"


@pytest.mark.slow
def test_readme_install_commands_run_in_a_fresh_checkout(tmp_path: Path) -> None:
    """The README's bash blocks, run in a copy of the checkout (a fresh venv: minutes)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    checkout = tmp_path / "checkout"
    for rel in files.stdout.split():
        if (ROOT / rel).is_file():
            (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, checkout / rel)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    for block in (b for b in md_blocks(ROOT / "README.md") if b.lang == "bash"):
        for line in block.text.strip().splitlines():
            if not line.startswith("python3 -m venv"):
                continue
            steps = line.split(" && ")
            if "pytest" in steps[-1]:  # not the suite itself here: .ci/run runs that exact line
                steps[-1] = ".venv/bin/python -m pytest -q --collect-only tests/test_data.py"
                line = " && ".join(steps)
            done = subprocess.run(
                ["bash", "-c", line], cwd=checkout, capture_output=True, text=True, timeout=3000, env=env,
                check=False,
            )
            assert done.returncode == 0, f"README.md:{block.line}: {line}\n{done.stderr[-3000:]}"
    assert (checkout / "momentum_gluon.png").read_bytes()[:8] == PNG_MAGIC
    for lineno, args in pip_installs(ROOT / "README.md"):
        if "-e" in args:
            done = subprocess.run(
                [str(checkout / ".venv" / "bin" / "pip"), "install", *args],
                cwd=checkout, capture_output=True, text=True, timeout=3000, env=env, check=False,
            )
            where = f"README.md:{lineno}: pip install {' '.join(args)}"
            assert done.returncode == 0, f"{where}\n{done.stderr[-3000:]}"
    version = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-c", "import mxnet, numpy; print(numpy.__version__)"],
        capture_output=True, text=True, check=True, env=env,
    )
    assert version.stdout.startswith("1.2")
    assert int(version.stdout.split(".")[1]) < 24


def test_extraction_of_a_page(tmp_path: Path) -> None:
    page = tmp_path / "page.rst"
    page.write_text(
        "Text::\n\n    $ momentumlab ignored\n\n"
        ".. code-block:: toml\n    :caption: a.toml\n\n    x = 1\n    [t]\n    y = 2\n\n"
        ".. code-block:: console\n\n    $ momentumlab run --out a.png  # note\n    line 1\n    ...\n"
        "    $ momentumlab report --store s.sqlite\n\nAfter.\n"
    )
    ex = examples_of(page)
    assert ex.files == {"a.toml": "x = 1\n[t]\ny = 2\n"}
    assert [c.argv for c in ex.commands] == [
        ["momentumlab", "run", "--out", "a.png"],
        ["momentumlab", "report", "--store", "s.sqlite"],
    ]
    assert [c.expected for c in ex.commands] == ["line 1\n...\n", ""]
    assert [c.line for c in ex.commands] == [14, 17]
    with pytest.raises(AssertionError, match="code-block:: console"):
        test_every_printed_command_is_in_a_block_that_runs(page)


def test_a_command_whose_output_differs_from_the_docs_fails(tmp_path: Path) -> None:
    import momentumlab as ml

    version = f"momentumlab {ml.__version__}\n"
    right = Command("x.rst", 1, ["momentumlab", "--version"], version, "momentumlab --version")
    run_command(right, tmp_path)
    wrong = Command("x.rst", 1, right.argv, "momentumlab 0.0.0\n", right.text)
    with pytest.raises(pytest.fail.Exception, match="the output differs from the docs"):
        run_command(wrong, tmp_path)
