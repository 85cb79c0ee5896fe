"""The problem suite: factories for every named problem and the registry behind ``make``."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import check_array, check_choice, check_float, check_int
from momentumlab._src.types import Array
from momentumlab.data import ArrayData, LinearData, make_linear_regression, make_logistic
from momentumlab.models import (
    MLP,
    Beale,
    Bowl,
    Function2D,
    LinearRegressor,
    ObjectiveLoss,
    Rosenbrock,
    Saddle,
    init_glorot,
    init_he,
)
from momentumlab.optim._schedules import EpochDecay, PerEpoch
from momentumlab.problems._problem import Problem, linear_problem
from momentumlab.problems._sklearn import load_bundled, split, standardize
from momentumlab.theory import least_squares, optimal_momentum


def _f32(a: Array) -> Array:
    return np.ascontiguousarray(a, dtype=np.float32)


def _check_seed(seed: Any) -> int:
    return check_int("seed", seed, low=0)


def _check_fraction(value: Any) -> float:
    return check_float("heldout_fraction", value, low=0.0, high=0.5, low_open=True)


def _glorot(net: mx.gluon.Block, rng: np.random.Generator) -> None:
    init_glorot(net, seed=rng)


def _he(net: mx.gluon.Block, rng: np.random.Generator) -> None:
    init_he(net, seed=rng)


def _bundled_splits(
    dataset: str, problem: str, heldout_fraction: Any, seed: Any
) -> tuple[tuple[Array, Array], tuple[Array, Array], dict[str, Any]]:
    """Load, split (seeded) and standardise features with the training split's statistics."""
    frac, s = _check_fraction(heldout_fraction), _check_seed(seed)
    X, y = load_bundled(dataset, problem)
    (Xt, yt), (Xh, yh) = split(X, y.astype(np.float64), heldout_fraction=frac, seed=s)
    Xt, Xh = standardize(Xt, Xh)
    return (Xt, yt), (Xh, yh), {"problem": problem, "heldout_fraction": frac, "seed": s}


def _class_splits(
    train: tuple[Array, Array], held: tuple[Array, Array], n_classes: int, desc: dict[str, Any]
) -> tuple[ArrayData, ArrayData]:
    return (
        ArrayData(
            _f32(train[0]), _f32(train[1]), n_classes=n_classes, description={**desc, "split": "train"}
        ),
        ArrayData(
            _f32(held[0]), _f32(held[1]), n_classes=n_classes, description={**desc, "split": "heldout"}
        ),
    )


# --------------------------------------------------------------------------- regression


def linear_regression(
    *,
    n_samples: int = 1000,
    weight: Sequence[float] = (2.0, -3.4),
    bias: float = 4.2,
    noise: float = 0.01,
    seed: int = 0,
) -> Problem:
    """``"linear-regression"``: the chapter's synthetic regression ("Momentum with Gluon").

    What it is for: the lesson itself — the chapter's setup, bit-identical to its own loop,
    with ground truth and the least-squares optimum in closed form. Takes
    :func:`momentumlab.data.make_linear_regression`'s options. The suggested settings are
    the chapter's (:meth:`momentumlab.RunConfig.chapter`).

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("linear-regression", noise=0.0)
        >>> p.optimum["dense0_weight"].round(3).tolist(), p.optimal_loss < 1e-10
        ([[2.0, -3.4]], True)
    """
    data = make_linear_regression(n_samples, weight=weight, bias=bias, noise=noise, seed=_check_seed(seed))
    base = linear_problem(data)
    return Problem(
        name="linear-regression",
        data=data,
        make_net=base.make_net,
        make_loss=base.make_loss,
        optimum=base.optimum,
        optimal_loss=base.optimal_loss,
        output_size=1,
        settings={  # the chapter's settings (momentumlab.RunConfig.chapter())
            "batch_size": 10,
            "learning_rate": PerEpoch(EpochDecay(init_value=0.2, factor=0.1, after_epoch=2)),
            "momentum": 0.9,
            "epochs": 3,
            "period": 10,
            "init_sigma": 1.0,
            "max_records_per_epoch": None,
        },
        description={
            "problem": "linear-regression",
            "n_samples": data.n_samples,
            "weight": data.description["weight"],
            "bias": data.description["bias"],
            "noise": data.description["noise"],
            "seed": seed,
        },
    )


def diabetes(*, heldout_fraction: float = 0.2, seed: int = 0) -> Problem:
    """``"diabetes"``: least squares on scikit-learn's diabetes data (442 patients, 10 features).

    What it is for: linear regression on real, correlated features (the standardised design's
    Hessian has condition number about 440), where the closed-form optimum is known and plain
    gradient descent is slow. The suggested settings are full-batch heavy ball with Polyak's
    optimal learning rate and momentum for the Hessian of the stored (float32) training data
    (:func:`momentumlab.theory.optimal_momentum`). A seeded ``heldout_fraction`` of the
    patients is held out; features and the target are standardised with the training split's
    mean and standard deviation only, so the loss is in units of the target's variance. The
    metric is the held-out ``L2Loss``.

    Needs scikit-learn (``pip install -e ".[datasets]"`` in the checkout); the data are read from the
    files bundled in its package, nothing is downloaded.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("diabetes")
        >>> p.data.n_samples, p.heldout.n_samples, round(p.optimal_loss, 3)
        (354, 88, 0.242)
    """
    (Xt, yt), (Xh, yh), desc = _bundled_splits("diabetes", "diabetes", heldout_fraction, seed)
    yt, yh = standardize(yt, yh)
    data = LinearData(_f32(Xt), _f32(yt), description={"name": "diabetes", **desc, "split": "train"})
    held = LinearData(_f32(Xh), _f32(yh), description={"name": "diabetes", **desc, "split": "heldout"})
    fit = least_squares(data)
    polyak = optimal_momentum(fit)
    return Problem(
        name="diabetes",
        data=data,
        heldout=held,
        make_net=functools.partial(LinearRegressor, data.n_features, 1),
        make_loss=mx.gluon.loss.L2Loss,
        metric="loss",
        init_params=_glorot,
        optimum={"dense0_weight": fit.weight, "dense0_bias": fit.bias},
        optimal_loss=fit.optimal_loss,
        output_size=1,
        settings={
            "batch_size": data.n_samples,
            "period": data.n_samples,
            "learning_rate": polyak.learning_rate,
            "momentum": polyak.momentum,
            "epochs": 200,
        },
        description=desc,
    )


def _quadratic_spectrum(dim: int, condition_number: float, spectrum: str = "geometric") -> Array:
    """Eigenvalues from 1 down to ``1 / condition_number``, spaced ``"geometric"`` or ``"linear"``."""
    d = check_int("dim", dim, low=1)
    kappa = check_float("condition_number", condition_number, low=1.0)
    kind = check_choice("spectrum", spectrum, ("geometric", "linear"))
    if d == 1:
        return np.ones(1)
    t = np.linspace(0.0, 1.0, d)
    if kind == "geometric":
        return np.asarray(kappa ** (-t))
    return np.asarray(1.0 - t * (1.0 - 1.0 / kappa))


def quadratic(
    *,
    dim: int = 10,
    condition_number: float = 100.0,
    spectrum: str = "geometric",
    eigenvalues: Sequence[float] | None = None,
    n_samples: int = 100,
    seed: int = 0,
) -> Problem:
    r"""``"quadratic"``: a least-squares quadratic whose Hessian has a chosen spectrum.

    .. math:: f(w) = \tfrac{1}{2n}\lVert X w - y\rVert^2
                   = \tfrac12 (w - w^\star)^\top Q\,\mathrm{diag}(\lambda)\,Q^\top (w - w^\star)

    with :math:`X = \sqrt n\,U\,\mathrm{diag}(\sqrt\lambda)\,Q^\top` (``U`` with orthonormal
    columns, ``Q`` a random rotation), :math:`y = X w^\star`, and a linear net without bias.
    What it is for: the setting of momentum's theory — with full batches
    (``batch_size = n_samples``) the convergence rates of gradient descent and heavy ball are
    known in closed form from the eigenvalues. The suggested settings are heavy ball's
    optimal ones (Polyak's, :func:`momentumlab.theory.optimal_momentum`).

    Args:
        dim: number of parameters, >= 1.
        condition_number: ``L / mu`` >= 1 when ``eigenvalues`` is not given (``L = 1``).
        spectrum: spacing of the eigenvalues, ``"geometric"`` or ``"linear"``.
        eigenvalues: explicit positive eigenvalues (overrides the three above).
        n_samples: rows of ``X``, >= ``dim`` (mini-batches give SGD on the same quadratic).
        seed: draws ``U``, ``Q`` and ``w*``.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("quadratic", dim=3, condition_number=10.0)
        >>> import numpy as np
        >>> X = p.data.features.asnumpy().astype(float)
        >>> np.linalg.eigvalsh(X.T @ X / p.data.n_samples).round(4).tolist()
        [0.1, 0.3162, 1.0]
    """
    s = _check_seed(seed)
    if eigenvalues is not None:
        lam = check_array("eigenvalues", eigenvalues, ndim=1, low=0.0, low_open=True)
        d = lam.size
    else:
        lam = _quadratic_spectrum(dim, condition_number, spectrum)
        d = lam.size
    n = check_int("n_samples", n_samples, low=d)
    rng = np.random.default_rng(s)
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    w_star = rng.standard_normal(d)
    X = (math.sqrt(n) * U * np.sqrt(lam)[None, :]) @ Q.T
    X32 = X.astype(np.float32)
    y = X32.astype(np.float64) @ w_star
    polyak = optimal_momentum(lam)
    desc: dict[str, Any] = {
        "problem": "quadratic",
        "eigenvalues": lam.tolist(),
        "n_samples": n,
        "seed": s,
    }
    data = ArrayData(_f32(X32), _f32(y), description=desc)
    fit = least_squares(data, use_bias=False)  # of the float32 values training sees
    return Problem(
        name="quadratic",
        data=data,
        make_net=functools.partial(MLP, d, (), 1, use_bias=False),
        make_loss=mx.gluon.loss.L2Loss,
        init_params=_glorot,
        optimum={"dense0_weight": fit.weight},
        optimal_loss=fit.optimal_loss,
        output_size=1,
        settings={
            "batch_size": n,
            "period": n,
            "learning_rate": polyak.learning_rate,
            "momentum": min(polyak.momentum, 0.999),
            "epochs": max(100, math.ceil(20 * math.sqrt(lam.max() / lam.min()))),
        },
        description=desc,
    )


# --------------------------------------------------------------------------- 2-D functions


def _start_at(point: tuple[float, float]) -> Callable[[mx.gluon.Block, np.random.Generator], None]:
    value = np.asarray(point, dtype=np.float32)

    def init(net: mx.gluon.Block, rng: np.random.Generator) -> None:
        for p in net.collect_params().values():
            if p._data is None:
                p.initialize(mx.init.Constant(0.0), force_reinit=True)
            p.set_data(mx.nd.array(value, dtype="float32"))

    return init


def _function_problem(
    name: str,
    block: Callable[[], Function2D],
    start: Sequence[float] | None,
    steps_per_epoch: int,
    settings: dict[str, Any],
    extra: dict[str, Any],
) -> Problem:
    rows = check_int("steps_per_epoch", steps_per_epoch, low=1)
    proto = block()
    if start is None:
        point = proto.start
    else:
        arr = check_array("start", start, shape=(2,))
        point = (float(arr[0]), float(arr[1]))
    data = ArrayData(
        np.zeros((rows, 1), dtype=np.float32),
        np.zeros((rows,), dtype=np.float32),
        description={"generator": "dummy", "n_samples": rows},
    )
    optimum = None if proto.minimum is None else {"xy": np.asarray(proto.minimum, dtype=np.float64)}
    return Problem(
        name=name,
        data=data,
        make_net=block,
        make_loss=ObjectiveLoss,
        init_params=_start_at(point),
        optimum=optimum,
        optimal_loss=proto.minimum_value,
        output_size=1,
        settings={"batch_size": 1, "period": 1, **settings},
        description={"problem": name, "start": list(point), "steps_per_epoch": rows, **extra},
    )


def bowl(
    *, a: float = 0.1, b: float = 2.0, start: Sequence[float] | None = None, steps_per_epoch: int = 10
) -> Problem:
    """``"bowl"``: the elongated quadratic bowl ``a x² + b y²`` (:class:`~momentumlab.models.Bowl`).

    What it is for: the picture of why momentum helps on ill-conditioned problems.

    Like every 2-D function problem, the data are ``steps_per_epoch`` identical dummy rows and
    :class:`~momentumlab.models.ObjectiveLoss` makes the block's output the loss, so with
    ``batch_size=1`` each update is one exact gradient step on ``f`` and an epoch is
    ``steps_per_epoch`` steps. ``start`` (default: the class's ``start``) is where every run
    begins, whatever the seed; ``train(..., record_params=True)`` gives the path in
    ``result.param_history['xy']``.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("bowl")
        >>> r = ml.train(ml.RunConfig(**p.settings), p, record_params=True)
        >>> r.param_history["xy"].shape, r.final_loss < 1e-6
        ((81, 2), True)
    """
    a_, b_ = check_float("a", a, low=0.0, low_open=True), check_float("b", b, low=0.0, low_open=True)
    return _function_problem(
        "bowl",
        functools.partial(Bowl, a_, b_),
        start,
        steps_per_epoch,
        {"learning_rate": 0.4, "momentum": 0.5, "epochs": 8},
        {"a": a_, "b": b_},
    )


def rosenbrock(*, start: Sequence[float] | None = None, steps_per_epoch: int = 100) -> Problem:
    """``"rosenbrock"``: Rosenbrock's banana valley (:class:`~momentumlab.models.Rosenbrock`).

    What it is for: a narrow curved valley where plain gradient descent crawls and momentum
    races along the floor. One dummy example, one step per epoch.

    Example:
        >>> import momentumlab as ml
        >>> ml.problems.make("rosenbrock").optimum["xy"].tolist()
        [1.0, 1.0]
    """
    return _function_problem(
        "rosenbrock",
        Rosenbrock,
        start,
        steps_per_epoch,
        {"learning_rate": 1e-3, "momentum": 0.9, "epochs": 30},
        {},
    )


def beale(*, start: Sequence[float] | None = None, steps_per_epoch: int = 100) -> Problem:
    """``"beale"``: Beale's function (:class:`~momentumlab.models.Beale`), minimum at ``(3, 0.5)``.

    What it is for: plateaus and steep ridges, where one step size cannot fit both.

    Example:
        >>> import momentumlab as ml
        >>> ml.problems.make("beale").optimal_loss
        0.0
    """
    return _function_problem(
        "beale", Beale, start, steps_per_epoch, {"learning_rate": 1e-2, "momentum": 0.9, "epochs": 3}, {}
    )


def saddle(*, start: Sequence[float] | None = None, steps_per_epoch: int = 100) -> Problem:
    """``"saddle"``: a strict saddle between two minima (:class:`~momentumlab.models.Saddle`).

    What it is for: escaping saddle points — from a start close to the saddle's stable
    direction, gradient descent lingers at the origin, momentum leaves sooner.

    Example:
        >>> import momentumlab as ml
        >>> ml.problems.make("saddle").description
        {'problem': 'saddle', 'start': [1.5, 0.001], 'steps_per_epoch': 100}
    """
    return _function_problem(
        "saddle", Saddle, start, steps_per_epoch, {"learning_rate": 0.1, "momentum": 0.9, "epochs": 3}, {}
    )


# --------------------------------------------------------------------------- classification


def _binary_problem(
    name: str, train: ArrayData, held: ArrayData, settings: dict[str, Any], desc: dict[str, Any]
) -> Problem:
    return Problem(
        name=name,
        data=train,
        heldout=held,
        make_net=functools.partial(LinearRegressor, train.n_features, 1),
        make_loss=mx.gluon.loss.SigmoidBinaryCrossEntropyLoss,
        metric="binary_accuracy",
        init_params=_glorot,
        output_size=1,
        settings=settings,
        description=desc,
    )


def logistic(
    *,
    n_samples: int = 1000,
    n_heldout: int = 1000,
    n_features: int = 10,
    margin: float = 0.1,
    label_noise: float = 0.05,
    seed: int = 0,
) -> Problem:
    """``"logistic"``: logistic regression on :func:`momentumlab.data.make_logistic` data.

    What it is for: a convex classifier whose difficulty is dialled in — the ``margin``
    separates the clean classes, ``label_noise`` flips labels (the best held-out accuracy is
    about ``1 - label_noise``; with no noise and a margin the loss has no finite minimiser).
    One logit, ``SigmoidBinaryCrossEntropyLoss``, held-out ``binary_accuracy``; the held-out
    split is drawn from the same seeded generator.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("logistic", n_samples=200, n_heldout=100)
        >>> p.data.n_classes, p.heldout.n_samples, p.metric
        (2, 100, 'binary_accuracy')
    """
    n = check_int("n_samples", n_samples, low=1)
    m = check_int("n_heldout", n_heldout, low=1)
    s = _check_seed(seed)
    full = make_logistic(n + m, n_features=n_features, margin=margin, label_noise=label_noise, seed=s)
    desc = {k: v for k, v in full.description.items() if k not in ("generator", "n_samples")}
    desc = {"problem": "logistic", "n_samples": n, "n_heldout": m, **desc}
    X, y = full.numpy()
    train = ArrayData(_f32(X[:n]), _f32(y[:n]), n_classes=2, description={**desc, "split": "train"})
    held = ArrayData(_f32(X[n:]), _f32(y[n:]), n_classes=2, description={**desc, "split": "heldout"})
    desc.pop("true_weight")
    settings = {
        "batch_size": 20,
        "period": 100,
        "learning_rate": 0.1,
        "momentum": 0.9,
        "epochs": 5,
    }
    return _binary_problem("logistic", train, held, settings, desc)


def breast_cancer(*, heldout_fraction: float = 0.2, seed: int = 0) -> Problem:
    """``"breast-cancer"``: logistic regression on scikit-learn's Wisconsin breast-cancer data.

    What it is for: a real, nearly separable binary classifier (569 tumours, 30 correlated
    features; label 1 = benign). A seeded ``heldout_fraction`` is held out; features are
    standardised with the training split's statistics only. Metric: held-out accuracy.

    Needs scikit-learn (``pip install -e ".[datasets]"`` in the checkout); read from its bundled files.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("breast-cancer")
        >>> p.data.n_samples, p.heldout.n_samples, p.data.n_features
        (455, 114, 30)
    """
    tr, he, desc = _bundled_splits("breast_cancer", "breast-cancer", heldout_fraction, seed)
    train, held = _class_splits(tr, he, 2, desc)
    settings = {
        "batch_size": 16,
        "period": 64,
        "learning_rate": 0.05,
        "momentum": 0.9,
        "epochs": 10,
    }
    return _binary_problem("breast-cancer", train, held, settings, desc)


def digits_mlp(*, hidden: Sequence[int] = (64,), heldout_fraction: float = 0.2, seed: int = 0) -> Problem:
    """``"digits-mlp"``: an MLP for softmax classification of scikit-learn's 8×8 digits.

    What it is for: a small non-convex neural net on real data (1797 images, 64 pixels,
    10 classes) that trains in seconds on a CPU. ``hidden`` gives one or two hidden ReLU
    layers (He-initialised from the run's seed); ``SoftmaxCrossEntropyLoss``; metric:
    held-out accuracy. Pixels are standardised with the training split's statistics.

    Needs scikit-learn (``pip install -e ".[datasets]"`` in the checkout); read from its bundled files.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("digits-mlp", hidden=(32, 16))
        >>> p.data.n_classes, p.output_size, p.description["hidden"]
        (10, 10, [32, 16])
    """
    sizes = check_array("hidden", hidden, ndim=1, dtype=int, low=1, allow_empty=True).tolist()
    if not 1 <= len(sizes) <= 2:
        raise ValueError(f"hidden must give one or two layer sizes, got {list(hidden)!r}")
    tr, he, desc = _bundled_splits("digits", "digits-mlp", heldout_fraction, seed)
    desc = {"problem": "digits-mlp", "hidden": sizes, **desc}
    train, held = _class_splits(tr, he, 10, desc)
    return Problem(
        name="digits-mlp",
        data=train,
        heldout=held,
        make_net=functools.partial(MLP, train.n_features, tuple(sizes), 10),
        make_loss=mx.gluon.loss.SoftmaxCrossEntropyLoss,
        metric="accuracy",
        init_params=_he,
        output_size=10,
        settings={
            "batch_size": 32,
            "period": 320,
            "learning_rate": 0.05,
            "momentum": 0.9,
            "epochs": 10,
        },
        description=desc,
    )


# --------------------------------------------------------------------------- registry

_REGISTRY: MappingProxyType[str, Callable[..., Problem]] = MappingProxyType(
    {
        "linear-regression": linear_regression,
        "diabetes": diabetes,
        "quadratic": quadratic,
        "bowl": bowl,
        "rosenbrock": rosenbrock,
        "beale": beale,
        "saddle": saddle,
        "logistic": logistic,
        "breast-cancer": breast_cancer,
        "digits-mlp": digits_mlp,
    }
)

#: Problems that read scikit-learn's bundled data (they need the ``datasets`` extra).
_NEEDS_SKLEARN = ("breast-cancer", "diabetes", "digits-mlp")


def names() -> tuple[str, ...]:
    """The names :func:`make` accepts, in the order of the guide.

    Example:
        >>> import momentumlab as ml
        >>> ml.problems.names()[:3]
        ('linear-regression', 'diabetes', 'quadratic')
    """
    return tuple(_REGISTRY)


def make(name: str, **kwargs: Any) -> Problem:
    """Build the problem called ``name`` with the factory's keyword options.

    Args:
        name: one of :func:`names`.
        **kwargs: options of that problem's factory (e.g. ``seed``, ``hidden``).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or bad options.
        TypeError: for an option the factory does not take (the message lists those it does).
        ImportError: for the scikit-learn problems when scikit-learn is missing.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("rosenbrock", start=(-1.0, 2.0))
        >>> p.name, p.description
        ('rosenbrock', {'problem': 'rosenbrock', 'start': [-1.0, 2.0], 'steps_per_epoch': 100})
    """
    key = check_choice("name", name, _REGISTRY)
    factory = _REGISTRY[key]
    valid = list(inspect.signature(factory).parameters)
    for option in kwargs:
        if option not in valid:
            raise TypeError(f"problem {key!r} takes options {valid}, got unexpected {option!r}")
    return factory(**kwargs)


__all__ = ["make", "names"]
