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
