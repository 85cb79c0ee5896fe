"""Run keys: canonical configs, stability across processes, sensitivity to config and data."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from tests.sweep_util import PY, env

DESC = ml.data.make_linear_regression(n_samples=10, seed=0).description

configs = st.builds(
    ml.RunConfig,
    batch_size=st.sampled_from([1, 5, 10]),
    learning_rate=st.floats(1e-6, 10.0),
    momentum=st.one_of(st.none(), st.floats(0.0, 0.999)),
    epochs=st.integers(1, 5),
    period=st.just(10),
    schedule=st.one_of(
        st.none(),
        st.builds(ml.optim.EpochDecay, factor=st.floats(1e-3, 1.0), after_epoch=st.integers(0, 4)),
    ),
    weight_decay=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
    shuffle=st.booleans(),
    init_sigma=st.floats(0.0, 3.0),
)


@settings(max_examples=60, deadline=None)
@given(config=configs)
def test_canonical_roundtrip_and_json_stability(config: ml.RunConfig) -> None:
    canon = ml.sweep.canonical_config(config)
    text = ml.sweep.canonical_json(canon)
    back = ml.sweep.config_from_canonical(json.loads(text))
    assert back == config
    assert ml.sweep.run_key(back, DESC) == ml.sweep.run_key(config, DESC)


@settings(max_examples=40, deadline=None)
@given(a=configs, b=configs)
def test_different_configs_have_different_keys(a: ml.RunConfig, b: ml.RunConfig) -> None:
    assert (ml.sweep.run_key(a, DESC) == ml.sweep.run_key(b, DESC)) == (a == b)


def test_int_and_float_spellings_share_a_key() -> None:
    a = ml.RunConfig(learning_rate=1, weight_decay=0)
    b = ml.RunConfig(learning_rate=1.0, weight_decay=0.0)
    assert ml.sweep.run_key(a, DESC) == ml.sweep.run_key(b, DESC)
    assert ml.sweep.canonical_config(a)["learning_rate"] == 1.0


def test_data_description_is_part_of_the_key() -> None:
    other = ml.data.make_linear_regression(n_samples=10, seed=1).description
    cfg = ml.RunConfig()
    assert ml.sweep.run_key(cfg, DESC) != ml.sweep.run_key(cfg, other)


def test_key_is_stable_across_processes() -> None:
    code = (
        "import momentumlab as ml;"
        "d = ml.data.make_linear_regression(n_samples=10, seed=0).description;"
        "print(ml.sweep.run_key(ml.RunConfig(momentum=0.5), d))"
    )
    out = subprocess.run([PY, "-c", code], env=env(), capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ml.sweep.run_key(ml.RunConfig(momentum=0.5), DESC)


def test_callable_learning_rate_is_rejected_for_keys() -> None:
    cfg = ml.RunConfig(learning_rate=lambda t: 0.1, schedule=None)
    with pytest.raises(TypeError, match="learning_rate must be a float for sweeps"):
        ml.sweep.run_key(cfg, DESC)
    with pytest.raises(TypeError, match=r"points\[0\]: learning_rate must be a float"):
        ml.sweep.prepare([cfg], ml.sweep.LinearRegressionSpec(n_samples=20))


def test_config_from_canonical_names_unknown_fields() -> None:
    with pytest.raises(ValueError, match="config has unknown field 'lr'"):
        ml.sweep.config_from_canonical({"lr": 0.1})
    with pytest.raises(ValueError, match="schedule has unknown field 'facto'"):
        ml.sweep.config_from_canonical({"schedule": {"facto": 0.1}})
    with pytest.raises(ValueError, match=r"schedule.__type__ must be one of \['EpochDecay'\]"):
        ml.sweep.schedule_from_mapping({"__type__": "Cosine"})


def test_hyperparameters_roundtrip() -> None:
    cfg = ml.RunConfig(hyperparameters={"clip_gradient": 2.0, "lazy_update": False})
    back = ml.sweep.config_from_canonical(json.loads(json.dumps(ml.sweep.canonical_config(cfg))))
    assert back == cfg
    assert ml.sweep.run_key(cfg, DESC) != ml.sweep.run_key(dataclasses.replace(cfg, hyperparameters=()), DESC)


def test_description_must_be_json() -> None:
    with pytest.raises(TypeError, match="description must hold finite JSON values"):
        ml.sweep.run_key(ml.RunConfig(), {"x": float("nan")})


def test_plateau_is_part_of_the_key_and_round_trips() -> None:
    a = ml.RunConfig(plateau=ml.optim.ReduceOnPlateau(factor=0.5))
    b = ml.RunConfig(plateau=ml.optim.ReduceOnPlateau(factor=0.2))
    desc = {"data": "x"}
    assert ml.sweep.run_key(a, desc) != ml.sweep.run_key(b, desc)
    assert ml.sweep.run_key(a, desc) != ml.sweep.run_key(ml.RunConfig(), desc)
    assert ml.sweep.config_from_canonical(ml.sweep.canonical_config(a)) == a
    (p,) = ml.sweep.grid(a, {"plateau.patience": [3]})
    assert p.config.plateau == ml.optim.ReduceOnPlateau(factor=0.5, patience=3)
    with pytest.raises(ValueError, match=r"plateau\.patience cannot be swept when the plateau is None"):
        ml.sweep.grid(ml.RunConfig(), {"plateau.patience": [3]})
    with pytest.raises(ValueError, match=r"unknown field 'plateau\.pat'; plateau fields are"):
        ml.sweep.check_field("plateau.pat")


def test_a_momentum_schedule_has_no_key() -> None:
    cfg = ml.RunConfig(momentum=ml.optim.PerEpoch(ml.optim.constant_schedule(0.9)))
    with pytest.raises(TypeError, match=r"momentum must be a float for sweeps and run keys"):
        ml.sweep.run_key(cfg, {"data": "x"})
