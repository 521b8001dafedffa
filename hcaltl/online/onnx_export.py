"""Export of the whole GraphSTAD to ONNX with the production contract, and a stream scorer on ONNX Runtime.

The graph (:class:`~hcaltl.online.graph_step.OnlineStep`) takes the inputs of CMSSW's ``OnlineDQMDigiAD``:

* ``input_data`` ``[1, 64, 72, D, 1]``: raw digi counts of the LS (D = 7 for HE, 2 for the Run 2 HB, 4 for Run 3);
* ``input_data_exo`` ``[1, 1]``: events in the LS;
* ``anomaly_std_th`` ``[1, 1]``: the σ threshold;

plus ``feature_history`` ``[T − 1, 2, F]``, the encoder features of the previous T − 1 LS, which the caller keeps
(the graph returns this LS's as ``ls_features``; production's wrapper keeps its LSTM states the same way).
Outputs: ``anomaly_score`` and ``anomaly_flag`` ``[1, 64, 72, D, 1]``, ``n_flagged`` ``[1, 1]``, ``ls_features``.
Preprocessing (renormalisation, scaling, masking) is inside the graph. Explained in chapter 7
(``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from .. import validate
from ..geometry import MAP_SHAPE, get_geometry
from ..models import GraphSTAD
from ..preprocess import ChannelScaler
from .graph_step import OnlineStep
from .stream import DEFAULT_THRESHOLD, Stream, channel_noise, scaling_maps

INPUTS = ("input_data", "input_data_exo", "anomaly_std_th", "feature_history")
OUTPUTS = ("anomaly_score", "anomaly_flag", "n_flagged", "ls_features")
#: The opset the graph is written for (LSTM, ScatterND-free, Gather; ≥ 17 as the production runtime needs).
OPSET = 18


def feature_size(model: GraphSTAD) -> int:
    """F, the per-LS feature width per detector half (CNN cells · C, plus C with the GNN)."""
    return model.cells * model.config.width + (model.config.width if model.config.use_gnn else 0)


def example_inputs(model: GraphSTAD, threshold: float = DEFAULT_THRESHOLD) -> tuple[torch.Tensor, ...]:
    """Inputs of the contract's shapes (an all-zero LS with 1000 events) for tracing and tests."""
    d = model.geometry.max_depth
    return (
        torch.zeros(1, *MAP_SHAPE[:2], d, 1),
        torch.full((1, 1), 1000.0),
        torch.full((1, 1), float(threshold)),
        torch.zeros(model.config.window - 1, 2, feature_size(model)),
    )


def export_onnx(
    model: GraphSTAD,
    path: str | Path,
    scaler: ChannelScaler,
    noise: np.ndarray | None = None,
    *,
    masked: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Path:
    """Write the whole GraphSTAD (GNN included), its preprocessing and the σ decision as one ONNX graph.

    Args:
        model: a trained GraphSTAD.
        path: the ``.onnx`` file to write.
        scaler: the model's fitted :class:`~hcaltl.preprocess.ChannelScaler`.
        noise: per-channel error spread (e.g. ``StreamScorer.fit_noise(...).noise``); None: 1.
        masked: channels whose score and flag are 0 (known bad).
        threshold: the default σ threshold stored in the file's metadata (the graph takes it as an input).

    Returns:
        The path written; ``onnx.checker`` has passed on it.
    """
    import onnx

    if not isinstance(model, GraphSTAD):
        raise TypeError(f"model must be a GraphSTAD, got {type(model).__name__}")
    if not model.config.dc:
        raise ValueError(
            "export_onnx writes the production layout, two detector halves stacked (dc=True); this "
            "model was built with dc=False"
        )
    if not model.config.ceil_pool:
        raise ValueError(
            "export_onnx writes the production layout, pooled in ceil mode (ceil_pool=True); this model "
            "was built with ceil_pool=False"
        )
    validate.same_geometry(scaler.geometry, model.geometry, "scaler", "model")
    scale, offset = scaling_maps(scaler)
    n = model.geometry.n_channels
    noise = channel_noise(noise, n)
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"path must end in .onnx, got {str(path)!r}")
    step = OnlineStep(model, scale, offset, noise, masked).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # the exporter's notes on optional packages (torchvision) it did not need
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter; correctness is checked below
            program = torch.onnx.export(
                step,
                example_inputs(model, threshold),
                dynamo=True,
                opset_version=OPSET,
                input_names=list(INPUTS),
                output_names=list(OUTPUTS),
                verbose=False,
                optimize=True,
            )
    finally:
        exporter_log.setLevel(level)
    proto = program.model_proto
    meta = {
        "hcaltl.config": json.dumps(model.config_dict()),
        "hcaltl.threshold": repr(float(threshold)),
        "hcaltl.window": str(model.config.window),
        "hcaltl.feature_size": str(feature_size(model)),
        "hcaltl.contract": "OnlineDQMDigiAD: input_data [1,64,72,D,1], input_data_exo [1,1], anomaly_std_th [1,1]",
    }
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


class OnnxScorer(Stream):
    """The stream scorer of :class:`~hcaltl.online.StreamScorer` with the scores computed by ONNX Runtime on an
    exported graph (:func:`export_onnx`). Same ``update``/``replay`` API and rules.

    Args:
        path: an ``.onnx`` file written by :func:`export_onnx`.
        threshold: σ threshold (default: the one stored in the file).
        masked: channels never flagged.
        threads: ONNX Runtime intra-op threads (None: its default).
    """

    def __init__(
        self,
        path: str | Path,
        threshold: float | None = None,
        masked: np.ndarray | None = None,
        threads: int | None = None,
    ) -> None:
        import onnx
        import onnxruntime as ort

        path = validate.file(path, "path", suffixes=(".onnx",), what="ONNX model")
        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as err:  # protobuf raises its own DecodeError for files that are not ONNX
            raise validate.FileFormatError(f"{path} is not an ONNX model ({type(err).__name__}: {err})") from err
        meta = {p.key: p.value for p in proto.metadata_props}
        if "hcaltl.config" not in meta:
            raise validate.FileFormatError(
                f"{path} is an ONNX model but not one written by hcaltl.online.export_onnx (no hcaltl metadata)"
            )
        self.config = json.loads(meta["hcaltl.config"])
        geometry = get_geometry(self.config["subdetector"], self.config["depth_table"])
        self.feature_size = int(meta["hcaltl.feature_size"])
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = validate.count(threads, "threads")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        super().__init__(
            geometry,
            int(meta["hcaltl.window"]),
            float(meta["hcaltl.threshold"]) if threshold is None else threshold,
            masked,
        )
        row, col, depth = geometry.node_index
        self._node_flat = (row * MAP_SHAPE[1] + col) * MAP_SHAPE[2] + depth  # each channel's cell in a flat map

    def run(self, counts: np.ndarray, n_events: float, history: np.ndarray) -> dict[str, np.ndarray]:
        """One call of the graph. Shapes: counts ``[64, 72, 7]``; history ``[T − 1, 2, F]``."""
        d = self.geometry.max_depth
        feeds = {
            "input_data": np.ascontiguousarray(counts[..., :d], dtype=np.float32)[None, ..., None],
            "input_data_exo": np.array([[n_events]], np.float32),
            "anomaly_std_th": np.array([[self.threshold]], np.float32),
            "feature_history": history.astype(np.float32, copy=False),
        }
        return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), feeds)))

    def _encode(self, counts: np.ndarray, n_events: float):
        # the graph encodes and scores in one call; while the window warms up its score (from a zero history) is
        # discarded and only this LS's features are kept
        warm = len(self._history) == self.window - 1
        history = (
            np.stack(self._history)
            if warm and self.window > 1
            else np.zeros((self.window - 1, 2, self.feature_size), np.float32)
        )
        out = self.run(counts, n_events, history)
        score = np.zeros(MAP_SHAPE, np.float32)
        score[..., : self.geometry.max_depth] = out["anomaly_score"][0, ..., 0]
        return out["ls_features"][0], score.reshape(-1)[self._node_flat]

    def _score(self, window_features: list, state) -> np.ndarray:
        return state
