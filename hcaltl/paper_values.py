"""Numbers published in the papers, printed beside hcaltl's own results.

Each value carries where it comes from.  Nothing here feeds a computation: these
are the targets our tables are compared against.
"""

from __future__ import annotations

#: Paper A, Table 5, last column: change in trainable parameters of each TL configuration,
#: read as the share of parameters in the frozen blocks (reference notes §2.9). Percent.
TABLE5_TRAINABLE_CHANGE = {
    ("TL-4", "No-TL"): 0.00, ("TL-4", "TL-1"): -0.17, ("TL-4", "TL-2"): -2.23, ("TL-4", "TL-3"): -2.39,
    ("TL-7", "TL-5"): -8.38, ("TL-7", "TL-6"): -97.77,
}

#: Block shares of all parameters implied by Table 5 under the book's reading of TL-1…TL-6 (percent).
#: "dec_cnn + latent_head" is the remainder.
IMPLIED_BLOCK_SHARES = {
    "enc_cnn": 2.23, "enc_gnn": 0.17, "enc_rnn": 5.99, "dec_rnn": 89.39, "dec_cnn + latent_head": 2.23,
}

#: Paper A, Table 3 (TL on the spatial networks): % change of the HB reconstruction MSE vs RANDOM/No-TL,
#: ("average", "best") — each compares like with like (reference notes §3.3).
TABLE3_MSE_CHANGE = {
    ("TL-4", "No-TL"): (-20.7, -16.7), ("TL-4", "TL-1"): (-22.5, -18.9), ("TL-4", "TL-2"): (-26.7, -21.6),
    ("TL-4", "TL-3"): (-25.9, -20.5), ("TL-4", "TL-2d"): (4452.2, 4844.9),
}

#: Paper A, Table 4: % change vs TL-4/TL-2d when the frozen decoder CNN keeps fine-tuning BatchNorm (and biases).
TABLE4_VS_TL2D = {("TL-4", "TL-2d[BN]"): -53.0, ("TL-4", "TL-2d[BN,BIAS]"): -51.9}

#: Paper A, Table 5 (TL on the spatio-temporal networks): % change of the best MSE vs RANDOM/No-TL in its two
#: blocks ("Best Score at ⟨stripped⟩": a data size or epoch budget, unknown).
TABLE5_MSE_CHANGE = {
    ("TL-4", "No-TL"): (-16.9, -16.7), ("TL-4", "TL-1"): (-19.5, -18.9), ("TL-4", "TL-2"): (-29.8, -21.6),
    ("TL-4", "TL-3"): (-29.3, -20.5), ("TL-7", "TL-5"): (-30.3, -20.4), ("TL-7", "TL-6"): (-32.6, -22.6),
}

#: Paper A, Table 6: % change of the MSE vs RANDOM/No-TL with one-cycle LR scheduling.
TABLE6_ONE_CYCLE_CHANGE = {
    ("TL-4", "No-TL"): -4.0, ("TL-4", "TL-3"): -1.6, ("TL-7", "TL-5"): -8.7, ("TL-7", "TL-6"): -8.6,
}

#: Paper A, Table 7: ROC AUC of channel anomaly detection on HB, (RANDOM/No-TL, TL-7/TL-6). The degradation
#: factors are stripped from the text; the reading follows the authors' list (reference notes §3.4).
TABLE7_AUC = {
    "degraded ×0.8": (0.993, 0.996), "degraded ×0.6": (1.000, 1.000), "degraded ×0.4": (1.000, 1.000),
    "degraded ×0.2": (1.000, 1.000), "dead": (1.000, 1.000), "noisy hot ×2": (1.000, 1.000), "fully hot": (1.000, 1.000),
}
