"""2-D test functions as two-parameter Gluon blocks, and the loss that minimises a net's output."""

from __future__ import annotations

from typing import Any, ClassVar

import mxnet as mx
import numpy as np

from momentumlab._src.checks import check_float
from momentumlab._src.types import Array


class ObjectiveLoss(mx.gluon.loss.Loss):
    """The net's output is the objective: the loss of an example is its output; labels are ignored.

    Use it with a block such as :class:`Rosenbrock` whose output is the function value, so
    that ``train`` minimises the function itself.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> ml.models.ObjectiveLoss()(mx.nd.array([[2.0], [3.0]]), mx.nd.zeros(2)).asnumpy().tolist()
        [2.0, 3.0]
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(weight=None, batch_axis=0, **kwargs)

    def hybrid_forward(self, F: Any, pred: Any, label: Any, sample_weight: Any = None) -> Any:
        """Mean of ``pred`` over all but the batch axis (plus ``0 * sum(label)``: the label
        takes part in the graph, as hybridized Gluon blocks want, without changing a bit)."""
        value = F.mean(pred, axis=self._batch_axis, exclude=True)
        return F.broadcast_add(value, F.reshape(F.sum(0 * label), (1,)))


class Function2D(mx.gluon.HybridBlock):
    """Base of the 2-D test functions: one parameter ``xy`` of shape ``(2,)``, the point.

    The block ignores its input's values and returns ``f(x, y)`` once per input row, shape
    ``(batch, 1)``, so a one-row dummy data set and :class:`ObjectiveLoss` make ``train``
    run gradient methods on ``f``. ``train(..., record_params=True)`` then gives the path in
    ``result.param_history['xy']``. Subclasses define :meth:`formula` with arithmetic only, so
    the same code evaluates NumPy grids (:meth:`value`) for contour plots.

    Attributes:
        minimum: a global minimiser ``(x, y)``, or ``None``.
        minimum_value: ``f`` at ``minimum``.
        start: the customary starting point.
        bounds: ``((x_lo, x_hi), (y_lo, y_hi))`` that frames the picture.
    """

    minimum: ClassVar[tuple[float, float] | None] = None
    minimum_value: ClassVar[float] = 0.0
    start: ClassVar[tuple[float, float]] = (0.0, 0.0)
    bounds: ClassVar[tuple[tuple[float, float], tuple[float, float]]] = ((-1.0, 1.0), (-1.0, 1.0))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.xy = self.params.get("xy", shape=(2,), dtype="float32")

    def formula(self, x: Any, y: Any) -> Any:
        """``f(x, y)`` with arithmetic operators only (works on NumPy and MXNet values)."""
        raise NotImplementedError

    def value(self, x: Array | float, y: Array | float) -> Array:
        """``f`` on NumPy values (float64), e.g. a grid for a contour plot."""
        return np.asarray(self.formula(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)))

    def hybrid_forward(self, F: Any, inputs: Any, xy: Any) -> Any:
        """``f(xy)`` broadcast to one value per input row."""
        x = F.slice_axis(xy, axis=0, begin=0, end=1)
        y = F.slice_axis(xy, axis=0, begin=1, end=2)
        f = F.reshape(self.formula(x, y), (1, 1))
        rows = F.zeros_like(F.slice_axis(inputs, axis=1, begin=0, end=1))
        return F.broadcast_add(rows, f)


class Bowl(Function2D):
    r"""An elongated quadratic bowl :math:`f = a x^2 + b y^2`, minimum 0 at the origin.

    The defaults ``a=0.1, b=2`` are the ill-conditioned example of D2L's momentum chapter
    (condition number 20): gradient descent zig-zags along ``y`` and crawls along ``x``;
    momentum fixes both.

    Example:
        >>> import momentumlab as ml
        >>> float(ml.models.Bowl().value(1.0, 1.0))
        2.1
    """

    minimum = (0.0, 0.0)
    start = (-5.0, -2.0)
    bounds = ((-5.5, 2.0), (-3.0, 3.0))

    def __init__(self, a: float = 0.1, b: float = 2.0, **kwargs: Any) -> None:
        self.a = check_float("a", a, low=0.0, low_open=True)
        self.b = check_float("b", b, low=0.0, low_open=True)
        super().__init__(**kwargs)

    def formula(self, x: Any, y: Any) -> Any:
        """``a x² + b y²``."""
        return self.a * x**2 + self.b * y**2


class Rosenbrock(Function2D):
    r"""Rosenbrock's banana :math:`f = (1 - x)^2 + 100 (y - x^2)^2`, minimum 0 at ``(1, 1)``.

    A curved, narrow valley: easy to find, slow to follow; the classic test of momentum.

    Example:
        >>> import momentumlab as ml
        >>> float(ml.models.Rosenbrock().value(1.0, 1.0))
        0.0
    """

    minimum = (1.0, 1.0)
    start = (-1.2, 1.0)
    bounds = ((-2.0, 2.0), (-1.0, 3.0))

    def formula(self, x: Any, y: Any) -> Any:
        """``(1 - x)² + 100 (y - x²)²``."""
        return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


class Beale(Function2D):
    r"""Beale's function, minimum 0 at ``(3, 0.5)``.

    .. math:: f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Flat plateaus and sharp ridges: the step size that is safe on the ridges crawls on the
    plateaus.

    Example:
        >>> import momentumlab as ml
        >>> float(ml.models.Beale().value(3.0, 0.5))
        0.0
    """

    minimum = (3.0, 0.5)
    start = (1.0, 1.4)
    bounds = ((-0.5, 4.0), (-1.5, 2.0))

    def formula(self, x: Any, y: Any) -> Any:
        """Beale's three squared terms."""
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


class Saddle(Function2D):
    r"""A saddle between two minima :math:`f = \tfrac12 x^2 + \tfrac14 (y^2 - 1)^2`.

    A strict saddle at the origin (``f = 1/4``, curvatures ``+1`` and ``-1``) and two minima
    ``(0, ±1)`` with ``f = 0``. Started near the saddle's stable direction (small ``y``),
    gradient descent lingers at the saddle; momentum escapes sooner.

    Example:
        >>> import momentumlab as ml
        >>> float(ml.models.Saddle().value(0.0, 0.0)), float(ml.models.Saddle().value(0.0, 1.0))
        (0.25, 0.0)
    """

    minimum = (0.0, 1.0)
    start = (1.5, 1e-3)
    bounds = ((-1.75, 1.75), (-1.5, 1.5))

    def formula(self, x: Any, y: Any) -> Any:
        """``x²/2 + (y² - 1)²/4``."""
        return 0.5 * x**2 + 0.25 * (y**2 - 1.0) ** 2
