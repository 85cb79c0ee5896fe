"""Statistics for fair comparisons: seeds with confidence bands, tuning curves, scores, profiles.

Everything here is NumPy (and SciPy's quasi-random sequences in ``ml.sweep``); every random
draw comes from an explicit ``seed``. Functions read :class:`~momentumlab.RunResult` values
and store summaries (no SQL); ``plot_*`` draw on an Axes like ``ml.viz``. :func:`run_compare`
and :func:`write_report` run a declared comparison into a store and write its report.

Example:
    >>> import momentumlab as ml
    >>> ml.stats.bootstrap_ci([0.0, 1.0], statistic="mean", seed=0)
    Interval(estimate=0.5, low=0.0, high=1.0, n=2)
"""

from momentumlab.stats._compare import CompareSpec as CompareSpec
from momentumlab.stats._compare import run_compare as run_compare
from momentumlab.stats._compare import write_report as write_report
from momentumlab.stats._core import CurveBand as CurveBand
from momentumlab.stats._core import Interval as Interval
from momentumlab.stats._core import Isolation as Isolation
from momentumlab.stats._core import Profile as Profile
from momentumlab.stats._core import TableRow as TableRow
from momentumlab.stats._core import TuningCurve as TuningCurve
from momentumlab.stats._core import bootstrap_ci as bootstrap_ci
from momentumlab.stats._core import edge_of_space as edge_of_space
from momentumlab.stats._core import isolation as isolation
from momentumlab.stats._core import performance_profile as performance_profile
from momentumlab.stats._core import reached as reached
from momentumlab.stats._core import seed_band as seed_band
from momentumlab.stats._core import seed_heatmap as seed_heatmap
from momentumlab.stats._core import steps_to_target as steps_to_target
from momentumlab.stats._core import summary_table as summary_table
from momentumlab.stats._core import time_to_target as time_to_target
from momentumlab.stats._core import tuning_curve as tuning_curve
from momentumlab.stats._plots import plot_band as plot_band
from momentumlab.stats._plots import plot_isolation as plot_isolation
from momentumlab.stats._plots import plot_profile as plot_profile
from momentumlab.stats._plots import plot_tuning_curve as plot_tuning_curve

__all__ = [
    "CompareSpec",
    "CurveBand",
    "Interval",
    "Isolation",
    "Profile",
    "TableRow",
    "TuningCurve",
    "bootstrap_ci",
    "edge_of_space",
    "isolation",
    "performance_profile",
    "plot_band",
    "plot_isolation",
    "plot_profile",
    "plot_tuning_curve",
    "reached",
    "run_compare",
    "seed_band",
    "seed_heatmap",
    "steps_to_target",
    "summary_table",
    "time_to_target",
    "tuning_curve",
    "write_report",
]
