"""The explorer page: built from real runs, self-contained, and live in a real headless browser.

The browser test needs Chromium and chromedriver (Debian: ``apt-get install chromium
chromium-driver``; ``.ci/run`` installs them) and selenium (the ``test`` extra); without them it
skips and says which is missing. Set ``MOMENTUMLAB_SCREENSHOT=path.png`` to keep its screenshot.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import momentumlab as ml
import momentumlab.cli

pytest.importorskip("bokeh", reason="the explorer needs Bokeh (the 'explore' extra)")

LRS = [0.1, 0.3, 0.6, 1.2]
MOMS = [0.0, 0.5, 0.9]
STEPS = 15


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explorer") / "page.html"
    ml.viz.explorer(learning_rates=LRS, momenta=MOMS, steps=STEPS, path=path)
    return path


def _run(lr: float, momentum: float) -> ml.RunResult:
    data = ml.viz._explorer.default_problem()
    config = ml.RunConfig(
        batch_size=data.n_samples, epochs=STEPS, shuffle=False, init_sigma=1.0,
        learning_rate=lr, momentum=momentum,
    )  # fmt: skip
    return ml.train(config, data)


def test_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert re.findall(r"<script[^>]*\bsrc=", text) == []
    assert re.findall(r"<link[^>]*\bhref=", text) == []
    assert "cdn.bokeh.org" not in text
    for name in ("lr_slider", "m_slider", "loss_src", "err_src", "path_src", "current", "info"):
        assert f'"name":"{name}"' in text.replace(" ", "")
    assert f"{len(LRS) * len(MOMS)} real full-batch runs" in text


def test_explorer_returns_what_it_writes(tmp_path: Path) -> None:
    path = tmp_path / "p.html"
    html = ml.viz.explorer(learning_rates=[0.5], momenta=[0.9], steps=3, path=path)
    assert path.read_text(encoding="utf-8") == html
    assert "1 real full-batch runs" in html


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"learning_rates": []}, ValueError, "learning_rates must hold at least one value"),
        ({"learning_rates": [0.1, -1.0]}, ValueError, r"learning_rates must be in \(0, inf\), got -1"),
        ({"momenta": [0.0, 1.0]}, ValueError, r"momenta must be in \[0, 1\), got 1"),
        ({"momenta": [0.5, 0.1]}, ValueError, "momenta must be increasing"),
        ({"learning_rates": "0.1"}, TypeError, "learning_rates must be a sequence"),
        ({"steps": 0}, ValueError, "steps must be"),
        ({"data": (1, 2)}, TypeError, "data must be a LinearData"),
        ({"title": 3}, TypeError, "title must be a str"),
    ],
)
def test_explorer_bad_arguments(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ml.viz.explorer(**{"learning_rates": [0.1], "momenta": [0.0], "steps": 2, **kwargs})


def test_cli_explore_writes_the_page(tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "x.html"
    argv = ["explore", "--out", str(target), "--lr", "0.1:1:3", "--momentum", "0:0.9:2", "--steps", "4"]
    assert momentumlab.cli.main(argv, out=out) == 0
    assert re.match(rf"wrote {re.escape(str(target))} \(\d+\.\d\d MB, \d+\.\d s\)", out.getvalue())
    assert "6 real full-batch runs" in target.read_text(encoding="utf-8")


def test_cli_explore_rejects_a_bad_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = momentumlab.cli.main(["explore", "--out", str(tmp_path / "x.html"), "--lr", "0.1:1"])
    assert status == 2
    assert "--lr must be LOW:HIGH:N" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


# ------------------------------------------------------------------------------------ browser


def _browser() -> tuple[str, str]:
    pytest.importorskip("selenium", reason="the browser test needs selenium (the 'test' extra)")
    names = ("chromium", "chromium-browser", "google-chrome")
    chrome = next((p for n in names if (p := shutil.which(n))), None)
    driver = shutil.which("chromedriver")
    if chrome is None or driver is None:
        pytest.skip(
            "the browser test needs Chromium and chromedriver on PATH "
            f"(found chromium: {chrome}, chromedriver: {driver}); "
            "on Debian: apt-get install chromium chromium-driver"
        )
    return chrome, driver


_FIND_HANDLES = """
const out = [];
function walk(root) {
  for (const el of root.querySelectorAll('*')) {
    if (el.classList && el.classList.contains('noUi-handle')) out.push(el);
    if (el.shadowRoot) walk(el.shadowRoot);
  }
}
walk(document);
return out;
"""

_STATE = """
const doc = Bokeh.documents[0];
const m = (name) => doc.get_model_by_name(name);
return {
  lr: m('lr_slider').value, mom: m('m_slider').value, title: m('lr_slider').title,
  loss: Array.from(m('loss_src').data.loss), e0: Array.from(m('err_src').data.e0),
  x: Array.from(m('path_src').data.x), current: Array.from(m('current').data.x), info: m('info').text,
};
"""


def test_page_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    chrome, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.keys import Keys

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=900,1300"):  # fmt: skip
        options.add_argument(arg)
    options.binary_location = chrome
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(page.as_uri())
        deadline = time.monotonic() + 30
        while not driver.execute_script("return !!(window.Bokeh && Bokeh.documents.length)"):
            assert time.monotonic() < deadline, "Bokeh never rendered the page"
            time.sleep(0.2)
        handles: list[Any] = []
        while len(handles) < 2:
            assert time.monotonic() < deadline, "the sliders never appeared"
            handles = driver.execute_script(_FIND_HANDLES)
            time.sleep(0.2)
        before = driver.execute_script(_STATE)
        assert (before["lr"], before["mom"]) == (len(LRS) // 2, len(MOMS) // 2)
        # move the learning-rate slider as a user does: focus its handle, press the left arrow twice
        handles[0].click()
        handles[0].send_keys(Keys.ARROW_LEFT)
        handles[0].send_keys(Keys.ARROW_LEFT)
        after = driver.execute_script(_STATE)
        while after["lr"] != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            after = driver.execute_script(_STATE)
        assert after["lr"] == 0
        assert after["title"] == "learning rate 0.1"
        # the plotted data changed, to that of the run at (lr 0.1, momentum 0.5)
        assert after["loss"] != before["loss"]
        assert after["e0"] != before["e0"]
        assert after["x"] != before["x"]
        assert after["current"] == pytest.approx([np.log10(0.1)])
        expected = _run(LRS[0], MOMS[1])
        np.testing.assert_allclose(after["loss"], expected.losses, rtol=1e-5)
        assert f"{expected.final_loss:.4e}".replace("e-0", "e-") in after["info"]
        shot = tmp_path / "explorer.png"
        assert driver.save_screenshot(str(shot))
        logs = driver.get_log("browser")
    finally:
        driver.quit()
    problems = [e for e in logs if e["level"] in ("SEVERE", "WARNING")]
    assert problems == [], problems
    import matplotlib.image as mpimg

    pixels = mpimg.imread(str(shot))
    assert pixels.shape[0] >= 1000
    assert pixels.shape[1] >= 800
    assert float(np.std(pixels)) > 0.05  # not a blank page
    keep = os.environ.get("MOMENTUMLAB_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
