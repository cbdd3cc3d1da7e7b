"""perfmodel: analytic performance, power and cost models of AI hardware.

The curated Python surface. ``perfmodel._core`` holds the raw compiled bindings and is private.
"""

from __future__ import annotations

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only hit on a broken install
    raise ImportError(
        "perfmodel's compiled extension 'perfmodel._core' could not be imported "
        f"({exc}). Install the package from a source tree with `pip install .` "
        "(it needs a C++20 compiler, Boost >= 1.81 and Eigen 3.4), or run the README's "
        "setup command."
    ) from exc

from ._core import ConfigError, Error, InvalidArgument, NotFound, UnitMismatch
from ._args import UnknownOption
from . import catalog, models, units
from .collectives import CollectiveResult, collective, moe_exchange, topology
from .compare import (compare, export_control, serving_comparison, serving_results, system_totals, training_comparison,
                      training_results)
from .inference import InferenceResult, best_inference, inference
from .training import TrainingResult, training
from .search import search_fields, search_inference, search_training
from .sweep import sweep
from .power import CostResult, chip_energy, cost, power
from .operators import OpResult, attention, efficiency_policy, elementwise, embedding, gemm, lm_head, roofline_data

__version__: str = _core.__version__


def __getattr__(name: str):  # lazy: perfmodel.plot imports matplotlib, perfmodel.validation the cases, when first used
    if name in ("plot", "validation"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'perfmodel' has no attribute {name!r}")

__all__ = [
    "__version__",
    "ConfigError",
    "Error",
    "InvalidArgument",
    "NotFound",
    "OpResult",
    "UnitMismatch",
    "UnknownOption",
    "attention",
    "best_inference",
    "collective",
    "CollectiveResult",
    "moe_exchange",
    "topology",
    "catalog",
    "chip_energy",
    "cost",
    "CostResult",
    "compare",
    "efficiency_policy",
    "elementwise",
    "embedding",
    "export_control",
    "gemm",
    "inference",
    "InferenceResult",
    "lm_head",
    "models",
    "plot",
    "power",
    "roofline_data",
    "search_fields",
    "serving_comparison",
    "serving_results",
    "search_inference",
    "search_training",
    "training",
    "training_comparison",
    "training_results",
    "TrainingResult",
    "sweep",
    "system_totals",
    "units",
]
