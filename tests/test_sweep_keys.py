"""Run keys: canonical configs, stability across processes, sensitivity to config and data."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab.sweep._driver import prepare
from momentumlab.sweep._keys import canonical_config, canonical_json
from tests.sweep_util import PY, env

DESC = ml.data.make_linear_regression(n_samples=10, seed=0).description

learning_rates = st.one_of(
    st.floats(1e-6, 10.0),
    st.builds(
        lambda base, factor, after: ml.optim.PerEpoch(
            ml.optim.EpochDecay(init_value=base, factor=factor, after_epoch=after)
        ),
        st.floats(1e-6, 10.0),
        st.floats(1e-3, 1.0),
        st.integers(0, 4),
    ),
)
configs = st.builds(
    ml.RunConfig,
    batch_size=st.sampled_from([1, 5, 10]),
    learning_rate=learning_rates,
    momentum=st.one_of(st.none(), st.just(0.0), st.floats(1e-6, 0.999)),
    epochs=st.integers(1, 5),
    period=st.one_of(st.none(), st.just(10)),
    max_records_per_epoch=st.one_of(st.none(), st.integers(1, 200)),
    weight_decay=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
    shuffle=st.booleans(),
    init_sigma=st.floats(0.0, 3.0),
)


@settings(max_examples=60, deadline=None)
@given(config=configs)
def test_canonical_roundtrip_and_json_stability(config: ml.RunConfig) -> None:
    canon = canonical_config(config)
    text = canonical_json(canon)
    back = ml.RunConfig.from_dict(json.loads(text))
    assert back == config
    assert ml.sweep.run_key(back, DESC) == ml.sweep.run_key(config, DESC)


@settings(max_examples=40, deadline=None)
@given(a=configs, b=configs)
def test_different_configs_have_different_keys(a: ml.RunConfig, b: ml.RunConfig) -> None:
    assert (ml.sweep.run_key(a, DESC) == ml.sweep.run_key(b, DESC)) == (a == b)


def test_int_and_float_spellings_share_a_key() -> None:
    a = ml.RunConfig.chapter(learning_rate=1, weight_decay=0)
    b = ml.RunConfig.chapter(learning_rate=1.0, weight_decay=0.0)
    assert ml.sweep.run_key(a, DESC) == ml.sweep.run_key(b, DESC)
    assert canonical_config(a)["learning_rate"]["schedule"]["init_value"] == 1.0
    c = ml.RunConfig(learning_rate=1, weight_decay=0)
    assert ml.sweep.run_key(c, DESC) == ml.sweep.run_key(ml.RunConfig(learning_rate=1.0), DESC)
    assert canonical_config(c)["learning_rate"] == 1.0


def test_data_description_is_part_of_the_key() -> None:
    other = ml.data.make_linear_regression(n_samples=10, seed=1).description
    cfg = ml.RunConfig.chapter()
    assert ml.sweep.run_key(cfg, DESC) != ml.sweep.run_key(cfg, other)


def test_key_is_stable_across_processes() -> None:
    code = (
        "import momentumlab as ml;"
        "d = ml.data.make_linear_regression(n_samples=10, seed=0).description;"
        "print(ml.sweep.run_key(ml.RunConfig.chapter(momentum=0.5), d))"
    )
    out = subprocess.run([PY, "-c", code], env=env(), capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ml.sweep.run_key(ml.RunConfig.chapter(momentum=0.5), DESC)


def test_callable_learning_rate_is_rejected_for_keys() -> None:
    cfg = ml.RunConfig(learning_rate=lambda t: 0.1, batch_size=10)
    with pytest.raises(TypeError, match=r"learning_rate must be a number or a schedule value .* stored"):
        ml.sweep.run_key(cfg, DESC)
    with pytest.raises(TypeError, match=r"points\[0\]: learning_rate must be a number or a schedule"):
        prepare([cfg], ml.sweep.LinearRegressionSpec(n_samples=20))


def test_config_from_dict_names_unknown_fields() -> None:
    with pytest.raises(ValueError, match="config has unknown field 'lr'"):
        ml.RunConfig.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match="config has unknown field 'schedule'"):
        ml.RunConfig.from_dict({"schedule": {"factor": 0.1}})


def test_hyperparameters_roundtrip() -> None:
    cfg = ml.RunConfig.chapter(hyperparameters={"clip_gradient": 2.0, "lazy_update": False})
    back = ml.RunConfig.from_dict(json.loads(json.dumps(canonical_config(cfg))))
    assert back == cfg
    assert ml.sweep.run_key(cfg, DESC) != ml.sweep.run_key(dataclasses.replace(cfg, hyperparameters=()), DESC)


def test_description_must_be_json() -> None:
    with pytest.raises(TypeError, match="description must hold finite JSON values"):
        ml.sweep.run_key(ml.RunConfig.chapter(), {"x": float("nan")})


def test_plateau_is_part_of_the_key_and_round_trips() -> None:
    a = ml.RunConfig.chapter(plateau=ml.optim.ReduceOnPlateau(factor=0.5))
    b = ml.RunConfig.chapter(plateau=ml.optim.ReduceOnPlateau(factor=0.2))
    desc = {"data": "x"}
    assert ml.sweep.run_key(a, desc) != ml.sweep.run_key(b, desc)
    assert ml.sweep.run_key(a, desc) != ml.sweep.run_key(ml.RunConfig.chapter(), desc)
    assert ml.RunConfig.from_dict(canonical_config(a)) == a
    (p,) = ml.sweep.grid(a, {"plateau.patience": [3]})
    assert p.config.plateau == ml.optim.ReduceOnPlateau(factor=0.5, patience=3)
    with pytest.raises(ValueError, match=r"plateau\.patience cannot be swept: plateau is None"):
        ml.sweep.grid(ml.RunConfig.chapter(), {"plateau.patience": [3]})
    with pytest.raises(
        ValueError, match=r"plateau\.pat is not a parameter of ReduceOnPlateau; its parameters are"
    ):
        ml.sweep.grid(a, {"plateau.pat": [3]})


def test_a_custom_momentum_function_has_no_key() -> None:
    cfg = ml.RunConfig.chapter(momentum=ml.optim.PerEpoch(lambda epoch: 0.9))
    with pytest.raises(TypeError, match=r"momentum must be a number or a schedule value"):
        ml.sweep.run_key(cfg, {"data": "x"})
