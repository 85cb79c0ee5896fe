"""The light front door: what imports without MXNet or pyplot, checked in fresh interpreters.

Each check runs a new Python process, because this test process has long imported MXNet.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import momentumlab as ml


def _modules_after(code: str) -> dict[str, bool]:
    """Run ``code`` in a fresh interpreter; report whether MXNet, pyplot and sklearn got imported."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps({m: m in sys.modules for m in ('mxnet', 'matplotlib.pyplot', 'sklearn')}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


LIGHT = {
    "package": "import momentumlab",
    "theory": "import momentumlab.theory",
    "data": "import momentumlab.data",
    "optim schedules": "import momentumlab.optim",
    "viz": "import momentumlab.viz",
    # using them, not only importing them, stays light too
    "generate and solve": (
        "import momentumlab as ml\n"
        "d = ml.data.make_conditioned_regression(50, 3, condition_number=10.0, seed=0)\n"
        "ml.data.make_linear_regression(seed=0); ml.data.make_logistic(20, seed=0)\n"
        "X, y = d.numpy()\n"
        "ml.data.from_arrays(X, y); ml.data.classification_arrays(X, (y > 0).astype(int))\n"
        "q = ml.theory.least_squares(d)\n"
        "assert abs(q.condition_number - 10.0) < 1e-3\n"
        "assert ml.theory.optimal_momentum(q).rate < 1"
    ),
    "schedules": (
        "import momentumlab as ml\n"
        "parts = [ml.optim.linear_schedule(0.0, 0.1, 5), ml.optim.cosine_decay(0.1, 10)]\n"
        "s = ml.optim.join_schedules(parts, [5])\n"
        "assert s(5) == 0.1\n"
        "ml.optim.EpochDecay(factor=0.1, after_epoch=2); ml.optim.ReduceOnPlateau()"
    ),
}


@pytest.mark.parametrize("code", LIGHT.values(), ids=list(LIGHT))
def test_light_imports_load_neither_mxnet_nor_pyplot(code: str) -> None:
    loaded = _modules_after(code)
    assert loaded == {"mxnet": False, "matplotlib.pyplot": False, "sklearn": False}


def test_the_probe_sees_mxnet_when_it_is_imported() -> None:
    """The check above can fail: training, a model or the trainer factory do load MXNet."""
    assert _modules_after("import momentumlab as ml\nml.models.LinearRegressor(2)")["mxnet"]
    assert _modules_after("from momentumlab.optim import make_trainer")["mxnet"]
    touched = _modules_after("import momentumlab as ml\nml.data.make_linear_regression(seed=0).features")
    assert touched["mxnet"]


def test_lazy_names_resolve_and_are_listed() -> None:
    for name in ml.__all__:
        assert getattr(ml, name) is not None
    assert set(ml.__all__) <= set(dir(ml))
    assert {"data", "theory", "viz", "train", "RunConfig"} <= set(dir(ml))
    assert ml.train is ml.runner.train
    assert ml.optim.make_trainer.__module__ == "momentumlab.optim._trainer"
    assert set(ml.optim.__all__) <= set(dir(ml.optim))
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        _ = ml.nonexistent  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        _ = ml.optim.nonexistent  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("module", "private"),
    [
        ("momentumlab.problems", ["least_squares", "NEEDS_SKLEARN", "quadratic_spectrum"]),
        ("momentumlab.data", ["check_arrays", "array_digest"]),
        ("momentumlab.viz", ["axes", "masked"]),
    ],
)
def test_plumbing_is_not_exported(module: str, private: list[str]) -> None:
    mod = __import__(module, fromlist=["__all__"])
    for name in private:
        assert name not in mod.__all__
        assert not hasattr(mod, name)
