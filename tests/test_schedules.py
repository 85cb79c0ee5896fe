"""Schedules against independent references of torch's and optax's formulas, hand values, laws.

torch and optax are not installed: the references below are written from their documented
formulas. For torch they are the *chainable* (recursive) forms that ``scheduler.step()``
applies, so they are independent of the closed forms the library uses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab.optim import (
    constant_schedule,
    cosine_decay,
    cosine_warm_restarts,
    exponential_decay,
    join_schedules,
    linear_schedule,
    multistep_decay,
    one_cycle,
    piecewise_constant,
    piecewise_scales,
    polynomial_schedule,
    step_decay,
    warmup,
)

TOL = 1e-12
N = 120


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(b))


# --------------------------------------------------------------------------- torch (chainable)


def torch_step_lr(base: float, step_size: int, gamma: float, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        if t > 0 and t % step_size == 0:
            lr = lr * gamma
        out.append(lr)
    return out


def torch_multistep_lr(base: float, milestones: list[int], gamma: float, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        lr = lr * gamma ** milestones.count(t)
        out.append(lr)
    return out


def torch_exponential_lr(base: float, gamma: float, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        if t > 0:
            lr = lr * gamma
        out.append(lr)
    return out


def torch_linear_lr(base: float, start: float, end: float, total: int, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        if t == 0:
            lr = base * start
        elif t <= total:
            lr = lr * (1.0 + (end - start) / (total * start + (t - 1) * (end - start)))
        out.append(lr)
    return out


def torch_constant_lr(base: float, factor: float, total: int, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        if t == 0:
            lr = base * factor
        elif t == total:
            lr = lr * (1.0 / factor)
        out.append(lr)
    return out


def torch_polynomial_lr(base: float, total: int, power: float, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        if 0 < t <= total:
            lr = lr * ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** power
        out.append(lr)
    return out


def torch_cosine_lr(base: float, T: int, eta_min: float, n: int) -> list[float]:
    out, lr = [], base
    for t in range(n):
        if t == 0:
            lr = base
        elif (t - 1 - T) % (2 * T) == 0:
            lr = lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
        else:
            lr = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (
                lr - eta_min
            ) + eta_min
        out.append(lr)
    return out


def torch_warm_restarts(base: float, T0: int, mult: int, eta_min: float, n: int) -> list[float]:
    out, T_cur, T_i = [], 0, T0
    for t in range(n):
        if t > 0:
            T_cur += 1
            if T_cur >= T_i:
                T_cur -= T_i
                T_i *= mult
        out.append(eta_min + (base - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2)
    return out


def torch_warm_restarts_epoch(base: float, T0: int, mult: int, eta_min: float, epoch: float) -> float:
    """torch's ``step(epoch)`` form (float log), for fractional epochs."""
    if epoch >= T0:
        if mult == 1:
            T_cur = epoch % T0
            T_i = T0
        else:
            k = int(math.log((epoch / T0 * (mult - 1) + 1), mult))
            T_cur = epoch - T0 * (mult**k - 1) / (mult - 1)
            T_i = T0 * mult**k
    else:
        T_i, T_cur = T0, epoch
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def torch_one_cycle(
    max_lr: float,
    total: int,
    pct: float,
    strategy: str,
    div: float,
    fdiv: float,
    three: bool,
    m_lo: float,
    m_hi: float,
) -> tuple[list[float], list[float]]:
    init = max_lr / div
    low = init / fdiv
    if three:
        phases = [
            (float(pct * total) - 1, init, max_lr, m_hi, m_lo),
            (float(2 * pct * total) - 2, max_lr, init, m_lo, m_hi),
            (total - 1, init, low, m_hi, m_hi),
        ]
    else:
        phases = [(float(pct * total) - 1, init, max_lr, m_hi, m_lo), (total - 1, max_lr, low, m_lo, m_hi)]

    def anneal(a: float, b: float, p: float) -> float:
        if strategy == "cos":
            return b + (a - b) / 2.0 * (math.cos(math.pi * p) + 1)
        return (b - a) * p + a

    lrs, moms = [], []
    for step in range(total):
        start = 0.0
        for i, (end, l0, l1, m0, m1) in enumerate(phases):
            if step <= end or i == len(phases) - 1:
                p = (step - start) / (end - start)
                lrs.append(anneal(l0, l1, p))
                moms.append(anneal(m0, m1, p))
                break
            start = end
    return lrs, moms


# --------------------------------------------------------------------------- optax (closed forms)


def optax_polynomial(v0: float, v1: float, power: float, T: int, begin: int, t: int) -> float:
    count = min(max(t - begin, 0), T)
    return (v0 - v1) * float((1 - count / T) ** power) + v1


def optax_exponential(
    v0: float, T: int, rate: float, begin: int, stair: bool, end: float | None, t: int
) -> float:
    d = t - begin
    p = d / T
    if stair:
        p = math.floor(p)
    v = v0 if d <= 0 else v0 * rate**p
    if end is not None:
        v = max(v, end) if rate < 1 else min(v, end)
    return v


def optax_cosine(v0: float, T: int, alpha: float, exponent: float, t: int) -> float:
    c = min(t, T)
    cos = 0.5 * (1 + math.cos(math.pi * c / T))
    return v0 * ((1 - alpha) * float(cos**exponent) + alpha)


def optax_piecewise_constant(v0: float, bs: dict[int, float], t: int) -> float:
    v = v0
    for b, s in sorted(bs.items()):
        v = v if t < b else v * s
    return v


def optax_join(parts: list[Callable[[int], float]], bounds: list[int], t: int) -> float:
    out = parts[0](t)
    for b, part in zip(bounds, parts[1:], strict=True):
        out = out if t < b else part(t - b)
    return out


# --------------------------------------------------------------------------- torch comparisons

TORCH_CASES: list[tuple[str, Callable[[int], float], list[float]]] = [
    ("StepLR", step_decay(0.3, 7, 0.5), torch_step_lr(0.3, 7, 0.5, N)),
    ("StepLR-gamma>1", step_decay(0.1, 3, 1.5), torch_step_lr(0.1, 3, 1.5, N)),
    (
        "MultiStepLR",
        multistep_decay(0.2, [10, 30, 31, 80], 0.3),
        torch_multistep_lr(0.2, [10, 30, 31, 80], 0.3, N),
    ),
    ("ExponentialLR", exponential_decay(0.5, 0.97), torch_exponential_lr(0.5, 0.97, N)),
    ("LinearLR", linear_schedule(0.2 * 0.25, 0.2 * 1.0, 40), torch_linear_lr(0.2, 0.25, 1.0, 40, N)),
    ("LinearLR-down", linear_schedule(0.2 * 1.0, 0.2 * 0.1, 17), torch_linear_lr(0.2, 1.0, 0.1, 17, N)),
    (
        "ConstantLR",
        warmup(constant_schedule(0.4), 12, start_value=0.4 * 0.3, mode="constant"),
        torch_constant_lr(0.4, 0.3, 12, N),
    ),
    ("PolynomialLR", polynomial_schedule(0.3, 0.0, 2.0, 50), torch_polynomial_lr(0.3, 50, 2.0, N)),
    ("PolynomialLR-p0.5", polynomial_schedule(0.3, 0.0, 0.5, 50), torch_polynomial_lr(0.3, 50, 0.5, N)),
    (
        "CosineAnnealingLR",
        cosine_decay(0.1, 30, end_value=0.001, periodic=True),
        torch_cosine_lr(0.1, 30, 0.001, N),
    ),
    ("WarmRestarts", cosine_warm_restarts(0.1, 10, end_value=0.01), torch_warm_restarts(0.1, 10, 1, 0.01, N)),
    (
        "WarmRestarts-mult2",
        cosine_warm_restarts(0.1, 5, period_mult=2),
        torch_warm_restarts(0.1, 5, 2, 0.0, N),
    ),
    (
        "WarmRestarts-mult3",
        cosine_warm_restarts(1.0, 2, period_mult=3, end_value=0.2),
        torch_warm_restarts(1.0, 2, 3, 0.2, N),
    ),
]


@pytest.mark.parametrize(("name", "schedule", "reference"), TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_schedule_equals_torch_reference(
    name: str, schedule: Callable[[int], float], reference: list[float]
) -> None:
    got = [schedule(t) for t in range(N)]
    bad = [(t, g, r) for t, (g, r) in enumerate(zip(got, reference, strict=True)) if not close(g, r)]
    assert not bad, f"{name}: first mismatches {bad[:3]}"


def test_warm_restarts_fractional_epochs_match_torch_epoch_form() -> None:
    s = ml.optim.PerEpoch(cosine_warm_restarts(0.1, 3, period_mult=2, end_value=0.001), fractional=True)
    bound = s.bind(steps_per_epoch=7)
    for t in range(7 * 40):
        assert close(bound(t), torch_warm_restarts_epoch(0.1, 3, 2, 0.001, t / 7)), t


@pytest.mark.parametrize("three", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize(("total", "pct"), [(100, 0.3), (37, 0.25), (10, 0.5)])
def test_one_cycle_equals_torch_onecycle(three: bool, strategy: str, total: int, pct: float) -> None:
    cyc = one_cycle(
        0.8,
        total,
        pct_start=pct,
        anneal_strategy=strategy,
        div_factor=20.0,
        final_div_factor=100.0,
        three_phase=three,
        base_momentum=0.8,
        max_momentum=0.97,
    )
    ref_lr, ref_m = torch_one_cycle(0.8, total, pct, strategy, 20.0, 100.0, three, 0.8, 0.97)
    for t in range(total):
        assert close(cyc.learning_rate(t), ref_lr[t]), (t, cyc.learning_rate(t), ref_lr[t])
        assert close(cyc.momentum(t), ref_m[t]), (t, cyc.momentum(t), ref_m[t])
    # past the end the last values are held (torch raises instead)
    assert cyc.learning_rate(total + 5) == cyc.learning_rate(total - 1)


def test_one_cycle_hand_values() -> None:
    # total 10, pct 0.3: the peak is at step 0.3*10 - 1 = 2; initial 1/10, final 0.1/1e4
    cyc = one_cycle(1.0, 10, anneal_strategy="linear", div_factor=10.0)
    assert [cyc.learning_rate(t) for t in (0, 1, 2)] == pytest.approx([0.1, 0.55, 1.0], abs=TOL)
    assert cyc.learning_rate(9) == pytest.approx(1e-5, abs=TOL)
    assert cyc.learning_rate(3) == pytest.approx(1.0 + (1e-5 - 1.0) / 7, abs=TOL)
    assert [cyc.momentum(t) for t in (0, 1, 2, 9)] == pytest.approx([0.95, 0.90, 0.85, 0.95], abs=TOL)


# --------------------------------------------------------------------------- optax comparisons


@pytest.mark.parametrize(
    ("v0", "v1", "power", "T", "begin"),
    [(1.0, 0.0, 1.0, 10, 0), (0.5, 0.01, 2.0, 33, 5), (0.1, 0.2, 0.7, 7, 3)],
)
def test_polynomial_and_linear_equal_optax(v0: float, v1: float, power: float, T: int, begin: int) -> None:
    s = polynomial_schedule(v0, v1, power, T, transition_begin=begin)
    lin = linear_schedule(v0, v1, T, transition_begin=begin)
    for t in range(N):
        assert close(s(t), optax_polynomial(v0, v1, power, T, begin, t))
        assert close(lin(t), optax_polynomial(v0, v1, 1.0, T, begin, t))


@pytest.mark.parametrize(
    ("T", "rate", "begin", "stair", "end"),
    [(1, 0.9, 0, False, None), (10, 0.5, 4, True, None), (7, 0.3, 0, False, 0.01), (5, 1.2, 2, True, 3.0)],
)
def test_exponential_decay_equals_optax(
    T: int, rate: float, begin: int, stair: bool, end: float | None
) -> None:
    s = exponential_decay(
        0.7, rate, transition_steps=T, transition_begin=begin, staircase=stair, end_value=end
    )
    for t in range(N):
        assert close(s(t), optax_exponential(0.7, T, rate, begin, stair, end, t)), t


@pytest.mark.parametrize(("T", "alpha", "exponent"), [(50, 0.0, 1.0), (20, 0.1, 1.0), (30, 0.05, 2.0)])
def test_cosine_decay_equals_optax(T: int, alpha: float, exponent: float) -> None:
    s = cosine_decay(0.3, T, end_value=alpha * 0.3, exponent=exponent)
    for t in range(N):
        assert close(s(t), optax_cosine(0.3, T, alpha, exponent, t)), t


def test_piecewise_and_join_equal_optax() -> None:
    bs = {5: 0.5, 20: 0.1, 21: 2.0}
    s = piecewise_scales(1.5, bs)
    parts: list[Callable[[int], float]] = [
        constant_schedule(0.1),
        linear_schedule(0.1, 1.0, 10),
        cosine_decay(1.0, 50),
    ]
    j = join_schedules(parts, [10, 20])
    for t in range(N):
        assert s(t) == optax_piecewise_constant(1.5, bs, t)
        assert j(t) == optax_join(parts, [10, 20], t)


def test_warmup_cosine_equals_optax_warmup_cosine_decay_schedule() -> None:
    # optax.warmup_cosine_decay_schedule(init, peak, warmup_steps, decay_steps, end_value)
    init, peak, W, D, end = 0.01, 0.5, 8, 60, 0.02
    s = warmup(cosine_decay(peak, D - W, end_value=end), W, start_value=init)
    parts: list[Callable[[int], float]] = [
        lambda t: optax_polynomial(init, peak, 1.0, W, 0, t),
        lambda t: optax_cosine(peak, D - W, end / peak, 1.0, t),
    ]
    for t in range(N):
        assert close(s(t), optax_join(parts, [W], t)), t


# --------------------------------------------------------------------------- hand values


@pytest.mark.parametrize(
    ("schedule", "steps", "values"),
    [
        (constant_schedule(0.25), [0, 7, 10**6], [0.25, 0.25, 0.25]),
        (step_decay(1.0, 2, 0.5), [0, 1, 2, 3, 4], [1.0, 1.0, 0.5, 0.5, 0.25]),
        (multistep_decay(1.0, [1, 3], 0.1), [0, 1, 2, 3], [1.0, 0.1, 0.1, 0.1 * 0.1]),
        (exponential_decay(2.0, 0.5), [0, 1, 3], [2.0, 1.0, 0.25]),
        (cosine_decay(1.0, 4, end_value=0.5), [0, 2, 4, 9], [1.0, 0.75, 0.5, 0.5]),
        (cosine_warm_restarts(1.0, 2), [0, 1, 2, 3], [1.0, 0.5, 1.0, 0.5]),
        (polynomial_schedule(1.0, 0.0, 2.0, 2), [0, 1, 2, 3], [1.0, 0.25, 0.0, 0.0]),
        (linear_schedule(0.0, 1.0, 4, transition_begin=2), [0, 2, 3, 6, 9], [0.0, 0.0, 0.25, 1.0, 1.0]),
        (warmup(constant_schedule(1.0), 2, mode="constant", start_value=0.1), [0, 1, 2], [0.1, 0.1, 1.0]),
        (warmup(step_decay(1.0, 2, 0.5), 2, shift=False), [0, 1, 2, 3, 4], [0.0, 0.5, 0.5, 0.5, 0.25]),
        (piecewise_constant([1, 3], [3.0, 2.0, 1.0]), [0, 1, 2, 3], [3.0, 2.0, 2.0, 1.0]),
        (
            join_schedules([constant_schedule(1.0), step_decay(4.0, 1, 0.5)], [2], shift=False),
            [1, 2, 3],
            [1.0, 1.0, 0.5],
        ),
    ],
)
def test_hand_computed_values(
    schedule: Callable[[int], float], steps: list[int], values: list[float]
) -> None:
    assert [schedule(t) for t in steps] == pytest.approx(values, abs=TOL)


def test_per_epoch_binding_and_bind_schedule() -> None:
    e = ml.optim.PerEpoch(step_decay(1.0, 2, 0.1))
    s = e.bind(steps_per_epoch=3)
    assert [s(t) for t in range(9)] == pytest.approx([1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.1], abs=TOL)
    bound = ml.optim.bind_schedule(e, 3)
    assert callable(bound)
    assert bound(6) == s(6)
    assert ml.optim.bind_schedule(0.3, 3) == 0.3


def test_epoch_decay_equals_multistep_bit_for_bit() -> None:
    spe, base = 7, 0.2
    chapter = ml.optim.EpochDecay(factor=0.1, after_epoch=2).as_schedule(base, steps_per_epoch=spe)
    ms = multistep_decay(base, [spe * e for e in range(2, 12)], 0.1)
    assert all(chapter(t) == ms(t) for t in range(spe * 12))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda: step_decay(1.0, 0, 0.5), ValueError, "step_size must be an integer >= 1, got 0"),
        (lambda: step_decay(1.0, 2, -0.5), ValueError, "factor must be > 0.0, got -0.5"),
        (lambda: multistep_decay(1.0, [3, 2], 0.5), ValueError, "milestones must be strictly increasing"),
        (lambda: exponential_decay(1.0, 0.0), ValueError, "decay_rate must be > 0.0, got 0.0"),
        (lambda: cosine_decay(1.0, 0), ValueError, "decay_steps must be an integer >= 1, got 0"),
        (
            lambda: cosine_warm_restarts(1.0, 5, period_mult=0),
            ValueError,
            "period_mult must be an integer >= 1",
        ),
        (lambda: polynomial_schedule(1.0, 0.0, 0.0, 5), ValueError, "power must be > 0.0, got 0.0"),
        (
            lambda: linear_schedule(1.0, 0.0, 2.5),  # type: ignore[arg-type]
            TypeError,
            "transition_steps must be an integer",
        ),
        (
            lambda: warmup(constant_schedule(1.0), -1),
            ValueError,
            "warmup_steps must be an integer >= 0, got -1",
        ),
        (lambda: warmup(constant_schedule(1.0), 2, mode="cos"), ValueError, "mode must be one of"),
        (lambda: warmup(1.0, 2), TypeError, "schedule must be a schedule"),  # type: ignore[arg-type]
        (lambda: one_cycle(1.0, 10, pct_start=1.0), ValueError, "pct_start must be in (0.0, 1.0), got 1.0"),
        (lambda: one_cycle(1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy must be one of"),
        (lambda: one_cycle(1.0, 10, max_momentum=0.5), ValueError, "max_momentum must be in [0.85, 1.0)"),
        (lambda: piecewise_constant([1, 2], [1.0]), ValueError, "values must have len(boundaries) + 1 = 3"),
        (lambda: piecewise_scales(1.0, {2: -1.0}), ValueError, "boundaries_and_scales[2] must be >= 0.0"),
        (lambda: join_schedules([], []), ValueError, "schedules must be a non-empty list"),
        (lambda: join_schedules([constant_schedule(1.0)] * 2, []), ValueError, "boundaries must have"),
        (lambda: join_schedules([constant_schedule(1.0)] * 2, [0]), ValueError, "boundaries must be >= 1"),
        (lambda: constant_schedule(math.nan), ValueError, "value must be a finite number"),
        (lambda: ml.optim.PerEpoch(3.0), TypeError, "schedule must be a schedule"),  # type: ignore[arg-type]
        (lambda: ml.optim.PerEpoch(constant_schedule(1.0)).bind(0), ValueError, "steps_per_epoch must be"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(
    call: Callable[[], object], exc: type, message: str
) -> None:
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


# --------------------------------------------------------------------------- laws

rates = st.floats(0.01, 0.99)
inits = st.floats(1e-4, 10.0)
lengths = st.integers(1, 40)


@st.composite
def decaying(draw: st.DrawFn) -> Callable[[int], float]:
    v0 = draw(inits)
    kind = draw(st.sampled_from(["step", "multi", "exp", "cos", "poly", "lin", "scales", "restart_floor"]))
    if kind == "step":
        return step_decay(v0, draw(lengths), draw(rates))
    if kind == "multi":
        ms = sorted(set(draw(st.lists(st.integers(0, 100), min_size=1, max_size=5))))
        return multistep_decay(v0, ms, draw(rates))
    if kind == "exp":
        return exponential_decay(
            v0,
            draw(rates),
            transition_steps=draw(lengths),
            staircase=draw(st.booleans()),
            transition_begin=draw(st.integers(0, 10)),
        )
    if kind == "cos":
        return cosine_decay(v0, draw(lengths), end_value=v0 * draw(rates), exponent=draw(st.floats(0.5, 3.0)))
    if kind == "poly":
        return polynomial_schedule(v0, v0 * draw(rates), draw(st.floats(0.2, 4.0)), draw(lengths))
    if kind == "lin":
        return linear_schedule(v0, v0 * draw(rates), draw(lengths), transition_begin=draw(st.integers(0, 5)))
    if kind == "scales":
        bs = sorted(set(draw(st.lists(st.integers(0, 100), min_size=1, max_size=5))))
        return piecewise_scales(v0, {b: draw(rates) for b in bs})
    # a one-period cosine restart schedule viewed within its first period is decaying too
    T = draw(st.integers(150, 300))
    return cosine_warm_restarts(v0, T, end_value=v0 * draw(rates))


@settings(max_examples=60, deadline=None)
@given(decaying())
def test_decaying_schedules_never_increase(schedule: Callable[[int], float]) -> None:
    values = [schedule(t) for t in range(150)]
    assert all(b <= a for a, b in itertools.pairwise(values))


@settings(max_examples=60, deadline=None)
@given(
    inits, st.floats(0.0, 1e-4), st.integers(1, 50), st.sampled_from(["linear", "constant"]), st.booleans()
)
def test_warmup_starts_at_start_and_reaches_the_base(
    base: float, start: float, W: int, mode: str, shift: bool
) -> None:
    inner = cosine_decay(base, 30)
    s = warmup(inner, W, start_value=start, mode=mode, shift=shift)
    assert s(0) == start
    if shift:
        assert s(W) == base  # the base value, inner(0)
    else:
        assert s(W) == inner(W)
    if mode == "linear":
        ramp = [s(t) for t in range(W + 1)] if shift else [s(t) for t in range(W)]
        assert all(b >= a for a, b in itertools.pairwise(ramp))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=4), st.booleans())
def test_joined_schedules_take_each_parts_values_on_its_interval(gaps: list[int], shift: bool) -> None:
    bounds = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    parts = [linear_schedule(float(i + 1), float(i), 7) for i in range(len(bounds) + 1)]
    j = join_schedules(parts, bounds, shift=shift)
    starts = [0, *bounds]
    ends = [*bounds, bounds[-1] + 20]
    for i, part in enumerate(parts):
        for t in range(starts[i], ends[i]):
            assert j(t) == part(t - starts[i] if shift else t)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.floats(-5.0, 5.0))
def test_constant_schedule_is_constant(step: int, value: float) -> None:
    assert constant_schedule(value)(step) == value
