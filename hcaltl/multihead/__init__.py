"""Multi-head networks that learn *which subsystem* caused a bad lumisection from the global label only
(paper C: Borisyak et al., "Deep Learning for Inferring Cause of Data Anomalies").

* One head (a small sigmoid MLP) per channel scores each LS: s_i ∈ (0, 1), 1 = looks good from this channel.
* The heads are combined by the authors' **Fuzzy AND**, the soft product f = exp(Σ_i (s_i − 1)) ∈ (e^−K, 1);
  the plain product Π_i s_i is offered for comparison.
* Loss: luminosity-weighted binary cross-entropy of f against the global label, good and bad carrying equal total
  weight, plus c_reg × the largest L2 norm of any head.
* **Soft pretraining**: L' = (1 − C)·L + C·mean_i L_i, where L_i is head i's own cross-entropy against the global
  label; C starts at 0.7 and decays (:class:`CSchedule`).

One job per file: :mod:`~hcaltl.multihead.features` (the container of per-LS features),
:mod:`~hcaltl.multihead.networks` (heads and their combination), :mod:`~hcaltl.multihead.schedule`
(the weight C), :mod:`~hcaltl.multihead.training` (loss, training loop, scores), :mod:`~hcaltl.multihead.metrics`
(how well the heads name the cause) and :mod:`~hcaltl.multihead.split`. Explained in chapter 6
(``notebooks/06_multihead_cause.ipynb``).
"""

from ..certification import load_golden_json
from .features import LumiFeatures
from .metrics import (
    attribution_table,
    decomposition_auc,
    exclusive_table,
    global_auc,
    infer_cause,
    visible_truth,
)
from .networks import COMBINE, FuzzyAndNet, Head, fuzzy_and, product_and
from .schedule import CSchedule
from .split import single_head, split
from .training import (
    MultiHeadConfig,
    MultiHeadHistory,
    Standardiser,
    class_weights,
    scores,
    train_multihead,
    weighted_bce,
)

__all__ = [
    "LumiFeatures",
    "COMBINE",
    "CSchedule",
    "FuzzyAndNet",
    "Head",
    "MultiHeadConfig",
    "MultiHeadHistory",
    "Standardiser",
    "attribution_table",
    "class_weights",
    "decomposition_auc",
    "exclusive_table",
    "fuzzy_and",
    "global_auc",
    "infer_cause",
    "load_golden_json",
    "product_and",
    "scores",
    "single_head",
    "split",
    "train_multihead",
    "visible_truth",
    "weighted_bce",
]
