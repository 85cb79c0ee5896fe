"""The problem suite: registry, determinism, descriptions, splits and the momentum=0 law."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab.problems._catalog import _NEEDS_SKLEARN
from tests.plain_loop import plain_sgd

pytest.importorskip("sklearn")

#: Small versions of every problem for the laws (the 2-D ones with 10 steps per epoch).
SMALL = {
    "linear-regression": {"n_samples": 200},
    "diabetes": {},
    "quadratic": {"dim": 5, "n_samples": 40},
    "bowl": {"steps_per_epoch": 10},
    "rosenbrock": {"steps_per_epoch": 10},
    "beale": {"steps_per_epoch": 10},
    "saddle": {"steps_per_epoch": 10},
    "logistic": {"n_samples": 200, "n_heldout": 50},
    "breast-cancer": {},
    "digits-mlp": {},
}


def test_registry_lists_every_problem() -> None:
    assert set(ml.problems.names()) == set(SMALL)
    assert len(ml.problems.names()) == 10


def test_make_rejects_unknown_names_and_options() -> None:
    with pytest.raises(ValueError, match=r"name must be one of \[.*'digits-mlp'.*\], got 'mnist'"):
        ml.problems.make("mnist")
    with pytest.raises(TypeError, match=r"problem 'bowl' takes options .*got unexpected 'seed'"):
        ml.problems.make("bowl", seed=1)
    with pytest.raises(ValueError, match=r"heldout_fraction must be in \(0.0, 0.5\], got 0.9"):
        ml.problems.make("diabetes", heldout_fraction=0.9)
    with pytest.raises(ValueError, match="hidden must give one or two layer sizes, got \\[8, 8, 8\\]"):
        ml.problems.make("digits-mlp", hidden=(8, 8, 8))
    with pytest.raises(ValueError, match=r"start\[1\] must be a finite number, got nan"):
        ml.problems.make("rosenbrock", start=(1.0, float("nan")))


@pytest.mark.parametrize("name", list(SMALL))
def test_problem_is_seeded_and_described(name: str) -> None:
    a, b = ml.problems.make(name, **SMALL[name]), ml.problems.make(name, **SMALL[name])
    assert a.name == name
    assert json.loads(json.dumps(a.description)) == a.description
    stated = ml.RunConfig(**a.settings)
    assert ml.RunConfig.from_dict(json.loads(json.dumps(stated.to_dict()))) == stated
    assert a.description == b.description
    np.testing.assert_array_equal(a.data.features.asnumpy(), b.data.features.asnumpy())
    np.testing.assert_array_equal(a.data.labels.asnumpy(), b.data.labels.asnumpy())
    config = ml.RunConfig(**a.settings)  # the stated settings are valid RunConfig keywords
    assert config.batch_size <= a.data.n_samples
    net = a.make_net()
    a.init_params(net, np.random.default_rng(0)) if a.init_params else ml.models.init_normal(net, seed=0)
    if a.optimum is not None:
        params = ml.models.get_params(net)
        assert {k: v.shape for k, v in params.items()} == {
            k: np.asarray(v).reshape(params[k].shape).shape for k, v in a.optimum.items()
        }


@pytest.mark.parametrize("name", ["diabetes", "breast-cancer", "digits-mlp", "logistic"])
def test_heldout_split_is_seeded_and_standardised_on_train_only(name: str) -> None:
    a = ml.problems.make(name, seed=0)
    b = ml.problems.make(name, seed=1)
    assert a.heldout is not None
    assert b.heldout is not None
    assert not np.array_equal(a.heldout.labels.asnumpy(), b.heldout.labels.asnumpy()) or not np.array_equal(
        a.heldout.features.asnumpy(), b.heldout.features.asnumpy()
    )
    if name == "logistic":
        return
    X = a.data.features.asnumpy().astype(np.float64)
    Xh = a.heldout.features.asnumpy().astype(np.float64)
    varying = X.std(axis=0) > 0
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=0)[varying], 1.0, rtol=1e-4)
    # the held-out split was scaled with the training statistics, not its own
    assert np.abs(Xh.mean(axis=0)).max() > 1e-3


def test_sklearn_problems_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    for name in _NEEDS_SKLEARN:
        with pytest.raises(ImportError, match=r'pip install -e "\.\[datasets\]" in the momentumlab checkout'):
            ml.problems.make(name)
    ml.problems.make("logistic")  # the others do not need scikit-learn


def test_record_params_gives_the_path_of_a_2d_function() -> None:
    p = ml.problems.make("bowl")
    r = ml.train(ml.RunConfig(**p.settings), p, record_params=True)
    path = r.param_history["xy"]
    assert path.shape == (r.n_steps + 1, 2)
    np.testing.assert_array_equal(path[0], np.asarray(ml.models.Bowl.start, dtype=np.float32))
    values = ml.models.Bowl().value(path[:, 0], path[:, 1])
    np.testing.assert_allclose(r.losses, values, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("name", ["logistic", "breast-cancer", "digits-mlp", "diabetes"])
def test_heldout_metric_is_recorded_with_the_loss(name: str) -> None:
    p = ml.problems.make(name, **SMALL[name])
    r = ml.train(ml.RunConfig(**{**p.settings, "epochs": 1}), p)
    assert r.metric_name == p.metric
    assert r.metrics.shape == r.losses.shape
    if p.metric != "loss":
        assert ((r.metrics >= 0) & (r.metrics <= 1)).all()


@pytest.mark.parametrize("name", list(SMALL))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_momentum_zero_is_plain_sgd_bit_for_bit(name: str, data: st.DataObject) -> None:
    problem = ml.problems.make(name, **SMALL[name])
    n = problem.data.n_samples
    batch_size = data.draw(st.integers(max(1, n // 12), n), label="batch_size")
    stated_lr = problem.settings.get("learning_rate", 0.2)
    base_lr = stated_lr if isinstance(stated_lr, float) else 0.2
    lr = base_lr * data.draw(st.sampled_from([0.25, 0.5, 1.0]), label="lr_factor")
    epochs = data.draw(st.integers(1, 3), label="epochs")
    decay = data.draw(st.booleans(), label="decay")
    schedule = ml.optim.EpochDecay(init_value=lr, factor=0.5, after_epoch=1) if decay else None
    config = ml.RunConfig(
        batch_size=batch_size,
        period=batch_size,
        learning_rate=ml.optim.PerEpoch(schedule) if schedule else lr,
        momentum=0.0,
        epochs=epochs,
        init_sigma=1.0,
        shuffle=data.draw(st.booleans(), label="shuffle"),
        seed=data.draw(st.integers(0, 2**16), label="seed"),
    )
    net = problem.make_net()
    rng = np.random.default_rng(config.seed)
    if problem.init_params is not None:
        problem.init_params(net, rng)
    else:
        ml.models.init_normal(net, seed=rng)
    params0 = ml.models.get_params(net)
    # the Gluon path is the one that must match Gluon bit for bit; the NumPy fast path that
    # ``engine="auto"`` picks for linear + L2 problems agrees to float32 round-off
    twin = problem.make_net()
    ml.models.init_normal(twin, seed=0)
    ml.models.set_params(twin, params0)
    auto = ml.train(config, problem, net=twin, initialize=False)
    result = ml.train(config, problem, net=net, initialize=False, engine="gluon")
    rates = [schedule.learning_rate(lr, e) if schedule else lr for e in range(1, epochs + 1)]
    expected = plain_sgd(
        problem, params0, ml.batch_orders(config, n), batch_size=batch_size, learning_rates=rates
    )
    assert result.params.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(result.params[key], value, err_msg=key)
    if auto.engine != "gluon" and auto.losses[-1] <= auto.losses[0]:
        # same start, other kernels (a run that blows up amplifies round-off, so not those):
        # within 1e-5 of the parameters' scale, the engines' documented tolerance (a small entry
        # of an ill-conditioned problem such as diabetes carries the round-off of the large ones)
        # A ReLU net (digits-mlp) can also see a pre-activation within round-off of 0 land on
        # the other side of the kink: that unit's gradient for that example changes by its whole
        # size (seen: one hidden unit off by 1.3e-4 of the scale, everything else 1e-7)
        # The scale is that of all the parameters: a bias that stays near 0 (diabetes'
        # standardised target) carries the weights' round-off (seen: 4e-9 on a bias of 1e-4).
        tol = 1e-3 if name == "digits-mlp" else 1e-5
        scale = max(float(np.abs(value).max()) for value in expected.values())
        for key, value in expected.items():
            np.testing.assert_allclose(auto.params[key], value, rtol=tol, atol=tol * scale, err_msg=key)


def test_linear_problems_take_optimum_and_settings_from_the_theory() -> None:
    """One least-squares solver and one Polyak optimum: the problems' values are the theory's."""
    p = ml.problems.make("quadratic", dim=4, condition_number=50.0, n_samples=30)
    q = ml.theory.least_squares(p.data, use_bias=False)
    assert p.optimum is not None
    np.testing.assert_array_equal(p.optimum["dense0_weight"], q.weight)
    assert p.optimal_loss == q.optimal_loss
    polyak = ml.theory.optimal_momentum(p.description["eigenvalues"])
    assert (p.settings["learning_rate"], p.settings["momentum"]) == (polyak.learning_rate, polyak.momentum)
    lin = ml.problems.linear_regression(n_samples=50, noise=0.1)
    fit = ml.theory.least_squares(lin.data)
    assert lin.optimum is not None
    np.testing.assert_array_equal(lin.optimum["dense0_weight"], fit.weight)
    np.testing.assert_array_equal(lin.optimum["dense0_bias"], fit.bias)
    assert lin.optimal_loss == fit.optimal_loss


def test_diabetes_settings_are_polyak_for_its_stored_data() -> None:
    pytest.importorskip("sklearn")
    p = ml.problems.make("diabetes")
    polyak = ml.theory.optimal_momentum(ml.theory.least_squares(p.data))
    assert (p.settings["learning_rate"], p.settings["momentum"]) == (polyak.learning_rate, polyak.momentum)
    assert 400 < ml.theory.least_squares(p.data).condition_number < 480  # "about 440"
