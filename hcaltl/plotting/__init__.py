"""Figures of the book, with fixed colours and names across every chapter.

* ``plot_*`` functions draw one panel: each takes ``ax=`` (a new figure is made when it is None) and returns
  the axes it drew on;
* ``*_figure`` functions lay several such panels out side by side (or stacked) and return the
  :class:`~matplotlib.figure.Figure`, so a chapter's figure is one call.

One module per subject, all re-exported here (``plotting.plot_map`` is defined in :mod:`hcaltl.plotting.maps`):

* :mod:`~hcaltl.plotting.style`: the fixed colours, markers and names, and the panel helpers;
* :mod:`~hcaltl.plotting.maps`: the detector on the ieta–iphi plane (chapters 1, 3, 5);
* :mod:`~hcaltl.plotting.occupancy`: the data set, its luminosity and its rings (chapter 1);
* :mod:`~hcaltl.plotting.graphs`: channel graphs and latent embeddings (chapters 2, 3);
* :mod:`~hcaltl.plotting.transfer`: training and transfer learning (chapters 3, 4);
* :mod:`~hcaltl.plotting.detection`: anomaly scores, ROC, contamination, detectors, online flags (chapters 5, 7);
* :mod:`~hcaltl.plotting.heads`: the multi-head model (chapter 6).
"""

from .detection import (  # noqa: F401
    contamination_figure,
    detection_figure,
    detector_comparison_figure,
    paper_detection_figure,
    plot_auc_gains,
    plot_contamination,
    plot_contamination_loss,
    plot_detector_aucs,
    plot_flag_timeline,
    plot_roc,
    plot_score_distributions,
    plot_table7,
)
from .graphs import (  # noqa: F401
    embedding_figure,
    plot_degree_hist,
    plot_embedding,
    plot_graph,
)
from .heads import (  # noqa: F401
    head_scores_figure,
    plot_c_schedules,
    plot_eval_curves,
    plot_head_scores,
)
from .maps import (  # noqa: F401
    channel_error_figure,
    maps_figure,
    plot_depth_profile,
    plot_map,
    plot_rbx_wedges,
    plot_region_map,
    reconstruction_figure,
    region_maps_figure,
)
from .occupancy import (  # noqa: F401
    plot_certified_ls,
    plot_channel_distribution,
    plot_lumi_timeline,
    plot_occupancy_vs_lumi,
    plot_ring_levels,
    renormalisation_figure,
    stacked_figure,
)
from .style import (  # noqa: F401
    CONFIG_COLORS,
    DETECTOR_STYLES,
    EDGE_COLORS,
    FAULT_COLORS,
    SUBDETECTOR_COLORS,
    SUBDETECTOR_LABELS,
    case_colors,
    detector_style,
    geometry_label,
    pair_style,
    panels,
)
from .transfer import (  # noqa: F401
    paper_transfer_figure,
    plot_changes_vs_paper,
    plot_history,
    plot_learning_curves,
    plot_mse_vs_fraction,
    plot_trainable_vs_mse,
    transfer_figure,
)

__all__ = [
    "CONFIG_COLORS",
    "DETECTOR_STYLES",
    "EDGE_COLORS",
    "FAULT_COLORS",
    "SUBDETECTOR_COLORS",
    "SUBDETECTOR_LABELS",
    "channel_error_figure",
    "contamination_figure",
    "detection_figure",
    "detector_comparison_figure",
    "detector_style",
    "embedding_figure",
    "geometry_label",
    "head_scores_figure",
    "maps_figure",
    "case_colors",
    "pair_style",
    "panels",
    "paper_detection_figure",
    "paper_transfer_figure",
    "plot_auc_gains",
    "plot_c_schedules",
    "plot_certified_ls",
    "plot_changes_vs_paper",
    "plot_channel_distribution",
    "plot_contamination",
    "plot_contamination_loss",
    "plot_degree_hist",
    "plot_depth_profile",
    "plot_detector_aucs",
    "plot_embedding",
    "plot_eval_curves",
    "plot_flag_timeline",
    "plot_graph",
    "plot_head_scores",
    "plot_history",
    "plot_learning_curves",
    "plot_lumi_timeline",
    "plot_map",
    "plot_mse_vs_fraction",
    "plot_occupancy_vs_lumi",
    "plot_rbx_wedges",
    "plot_region_map",
    "plot_ring_levels",
    "plot_roc",
    "plot_score_distributions",
    "plot_table7",
    "plot_trainable_vs_mse",
    "reconstruction_figure",
    "region_maps_figure",
    "renormalisation_figure",
    "stacked_figure",
    "transfer_figure",
]
