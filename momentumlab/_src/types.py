"""Shared types of momentumlab (layer 0: imports nothing from the library)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

#: A NumPy array of any dtype (parameters, histories).
Array = npt.NDArray[Any]

#: A schedule maps the 0-based index of an update (step) to a value
#: (a learning rate or a momentum).
Schedule = Callable[[int], float]

#: A learning rate or momentum: a constant float or a :data:`Schedule`.
ScalarOrSchedule = float | Schedule

#: A seed: an int, a NumPy ``Generator`` (used as is), or ``None`` (fresh entropy).
Seed = int | np.random.Generator | None

__all__ = ["ScalarOrSchedule", "Schedule", "Seed"]
