"""``trainer.step`` for MXNet's SGD without the Python around it: the same kernels, same bits.

``gluon.Trainer.step`` on one device without a kvstore ends in
``mx.nd.multi_sgd_mom_update`` (or ``multi_sgd_update`` without momentum), called on the
parameters in chunks of ``optimizer.aggregate_num`` with ``lrs = lr * lr_mult``,
``wds = wd * wd_mult`` and ``rescale_grad = trainer._scale / batch_size``. On the way it
walks several layers of Python (stale-gradient checks, the updater, state creation, list
building) that cost more than the kernel on small problems. :class:`FusedSGD` calls the
kernels directly with the same arguments, so the parameters are bit-identical to
``trainer.step`` (``tests/test_fast_gluon.py`` checks this against the chapter loop).
"""

from __future__ import annotations

import mxnet as mx
import numpy as np


class FusedSGD:
    """Apply ``trainer.step(batch_size)`` for a plain SGD trainer by calling its kernels."""

    def __init__(self, trainer: mx.gluon.Trainer, params: list[mx.gluon.Parameter]) -> None:
        opt = trainer.optimizer
        self._momentum = float(opt.momentum)
        self._chunk = int(opt.aggregate_num)
        self._wd = opt.wd
        self._scale = trainer._scale
        self._clip = opt.clip_gradient
        self._params = params
        self._weights = [p.data() for p in params]
        self._grads = [p.grad() for p in params]
        self._lr_mult = [p.lr_mult for p in params]
        self._wds = [self._wd * p.wd_mult for p in params]
        self._states = [mx.nd.zeros(w.shape, w.context, dtype=w.dtype) for w in self._weights]
        self._last: tuple[float, list[float]] | None = None

    @staticmethod
    def supports(trainer: mx.gluon.Trainer, params: list[mx.gluon.Parameter]) -> bool:
        """Whether :meth:`step` reproduces ``trainer.step`` exactly for this trainer."""
        opt = trainer.optimizer
        if type(opt) is not mx.optimizer.SGD or int(opt.aggregate_num) <= 0:
            return False
        if opt.multi_precision or trainer._update_on_kvstore or trainer._kvstore_params.get("kvstore"):
            return False
        if len(trainer._contexts) != 1:
            return False
        for p in params:
            if p.grad_req != "write" or p._stype != "default" or p._grad_stype != "default":
                return False
            if np.dtype(p.dtype) != np.float32:
                return False
        return True

    def step(self, learning_rate: float, batch_size: int) -> None:
        """One update with ``learning_rate`` on gradients summed over ``batch_size`` examples."""
        if self._last is None or self._last[0] != learning_rate:
            self._last = (learning_rate, [learning_rate * m for m in self._lr_mult])
        lrs = self._last[1]
        kwargs: dict[str, float] = {"rescale_grad": self._scale / batch_size}
        if self._clip:
            kwargs["clip_gradient"] = self._clip
        c = self._chunk
        w, g, s = self._weights, self._grads, self._states
        for lo in range(0, len(w), c):
            hi = min(lo + c, len(w))
            if self._momentum > 0:
                args = [a for j in range(lo, hi) for a in (w[j], g[j], s[j])]
                mx.nd.multi_sgd_mom_update(
                    *args,
                    out=w[lo:hi],
                    num_weights=hi - lo,
                    lrs=lrs[lo:hi],
                    wds=self._wds[lo:hi],
                    momentum=self._momentum,
                    **kwargs,
                )
            else:
                args = [a for j in range(lo, hi) for a in (w[j], g[j])]
                mx.nd.multi_sgd_update(
                    *args, out=w[lo:hi], num_weights=hi - lo, lrs=lrs[lo:hi], wds=self._wds[lo:hi], **kwargs
                )
