"""Numbers published in the papers, printed beside hcaltl's own results.

Each value carries where it comes from.  Nothing here feeds a computation: these
are the targets our tables are compared against.
"""

from __future__ import annotations

#: Paper A, Table 5, last column: change in trainable parameters of each TL configuration,
#: read as the share of parameters in the frozen blocks (reference notes §2.9). Percent.
TABLE5_TRAINABLE_CHANGE = {
    ("TL-4", "No-TL"): 0.00,
    ("TL-4", "TL-1"): -0.17,
    ("TL-4", "TL-2"): -2.23,
    ("TL-4", "TL-3"): -2.39,
    ("TL-7", "TL-5"): -8.38,
    ("TL-7", "TL-6"): -97.77,
}

#: Block shares of all parameters implied by Table 5 under the book's reading of TL-1…TL-6 (percent).
#: "dec_cnn + latent_head" is the remainder.
IMPLIED_BLOCK_SHARES = {
    "enc_cnn": 2.23,
    "enc_gnn": 0.17,
    "enc_rnn": 5.99,
    "dec_rnn": 89.39,
    "dec_cnn + latent_head": 2.23,
}

#: Paper A, Table 3 (TL on the spatial networks): % change of the HB reconstruction MSE vs RANDOM/No-TL,
#: ("average", "best") — each compares like with like (reference notes §3.3).
TABLE3_MSE_CHANGE = {
    ("TL-4", "No-TL"): (-20.7, -16.7),
    ("TL-4", "TL-1"): (-22.5, -18.9),
    ("TL-4", "TL-2"): (-26.7, -21.6),
    ("TL-4", "TL-3"): (-25.9, -20.5),
    ("TL-4", "TL-2d"): (4452.2, 4844.9),
}

#: Paper A, Table 4: % change vs TL-4/TL-2d when the frozen decoder CNN keeps fine-tuning BatchNorm (and biases).
TABLE4_VS_TL2D = {("TL-4", "TL-2d[BN]"): -53.0, ("TL-4", "TL-2d[BN,BIAS]"): -51.9}

#: Paper A, Table 5 (TL on the spatio-temporal networks): % change of the best MSE vs RANDOM/No-TL in its two
#: blocks ("Best Score at ⟨stripped⟩": a data size or epoch budget, unknown).
TABLE5_MSE_CHANGE = {
    ("TL-4", "No-TL"): (-16.9, -16.7),
    ("TL-4", "TL-1"): (-19.5, -18.9),
    ("TL-4", "TL-2"): (-29.8, -21.6),
    ("TL-4", "TL-3"): (-29.3, -20.5),
    ("TL-7", "TL-5"): (-30.3, -20.4),
    ("TL-7", "TL-6"): (-32.6, -22.6),
}

#: Paper A, Table 6: % change of the MSE vs RANDOM/No-TL with one-cycle LR scheduling.
TABLE6_ONE_CYCLE_CHANGE = {
    ("TL-4", "No-TL"): -4.0,
    ("TL-4", "TL-3"): -1.6,
    ("TL-7", "TL-5"): -8.7,
    ("TL-7", "TL-6"): -8.6,
}

#: Paper A, Table 7's two configurations, in the order of its columns.
TABLE7_PAIRS = ("RANDOM/No-TL", "TL-7/TL-6")

#: Paper A, Table 7: ROC AUC of channel anomaly detection on HB, per :data:`TABLE7_PAIRS`. The degradation
#: factors are stripped from the text; the reading follows the authors' list (reference notes §3.4).
TABLE7_AUC = {
    "degraded ×0.8": (0.993, 0.996),
    "degraded ×0.6": (1.000, 1.000),
    "degraded ×0.4": (1.000, 1.000),
    "degraded ×0.2": (1.000, 1.000),
    "dead": (1.000, 1.000),
    "noisy hot ×2": (1.000, 1.000),
    "fully hot": (1.000, 1.000),
}

# ---------------------------------------------------------------------------------------------------------------
# Paper C (Borisyak et al., multi-head "Fuzzy AND"; reference notes §5)

#: Input sizes of the four channels' subnetworks.
PAPER_C_SIZES = {"muons": 267, "photons": 232, "PF": 126, "calo": 266}

#: ROC AUC of the Fuzzy AND output on the test set.
PAPER_C_GLOBAL_AUC = 0.96

#: Fig. 3: per-branch ROC AUC against expert sub-system labels (read off the colour map, ±0.01).
PAPER_C_FIG3_AUC = {
    "muons": {
        "inclusive": 0.89,
        "Muon": 0.86,
        "Jets": 0.79,
        "e/γ": 0.79,
        "Track": 0.96,
        "RPC": 0.81,
        "CSC": 0.53,
        "DT": 0.82,
        "HCAL": 0.81,
        "ECAL": 0.70,
        "ES": 0.94,
        "Strip": 0.98,
        "Pixel": 0.98,
        "HLT": 0.71,
        "L1": 0.71,
    },
    "photons": {
        "inclusive": 0.94,
        "Muon": 0.72,
        "Jets": 0.94,
        "e/γ": 0.93,
        "Track": 0.88,
        "RPC": 0.65,
        "CSC": 0.57,
        "DT": 0.63,
        "HCAL": 0.72,
        "ECAL": 0.87,
        "ES": 0.86,
        "Strip": 0.91,
        "Pixel": 0.91,
        "HLT": 0.85,
        "L1": 0.82,
    },
    "PF": {
        "inclusive": 0.91,
        "Muon": 0.75,
        "Jets": 0.88,
        "e/γ": 0.88,
        "Track": 0.94,
        "RPC": 0.68,
        "CSC": 0.62,
        "DT": 0.68,
        "HCAL": 0.72,
        "ECAL": 0.79,
        "ES": 0.92,
        "Strip": 0.98,
        "Pixel": 0.97,
        "HLT": 0.76,
        "L1": 0.70,
    },
    "calo": {
        "inclusive": 0.96,
        "Muon": 0.78,
        "Jets": 0.95,
        "e/γ": 0.95,
        "Track": 0.84,
        "RPC": 0.74,
        "CSC": 0.58,
        "DT": 0.63,
        "HCAL": 0.75,
        "ECAL": 0.84,
        "ES": 0.80,
        "Strip": 0.92,
        "Pixel": 0.92,
        "HLT": 0.66,
        "L1": 0.63,
    },
}

#: Fig. 4: share of exclusive anomalies (bad in exactly one sub-detector) identified by each branch.
PAPER_C_FIG4_EXCLUSIVE = {
    "muons": {"RPC": 0.73, "CSC": 0.17, "HCAL": 0.74, "ECAL": 0.34},
    "photons": {"RPC": 0.27, "CSC": 0.09, "HCAL": 0.84, "ECAL": 0.70},
    "PF": {"RPC": 0.37, "CSC": 0.42, "HCAL": 0.68, "ECAL": 0.74},
    "calo": {"RPC": 0.91, "CSC": 0.50, "HCAL": 0.95, "ECAL": 0.80},
}

#: Which of paper C's expert labels each of the simulator's subsystems stands for (for side-by-side tables).
PAPER_C_LABEL_OF = {"muon": "Muon", "tracker": "Track", "ecal": "ECAL", "hcal": "HCAL"}
