import numpy as np
import pytest

from hcaltl.detectors import ErrorScaler, fpr_at_tpr, metrics_table, roc_auc


def test_metrics_agree_with_hand_computed_cases():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert fpr_at_tpr(y, s, 0.5) == 0.0  # threshold 0.8 catches one of two, no false alarm
    assert fpr_at_tpr(y, s, 0.9) == 0.5  # threshold 0.35 also flags the 0.4 negative
    assert fpr_at_tpr(y, s, 1.0) == 0.5


def test_ties_are_flagged_together():
    y = np.array([0, 1, 0, 1])
    s = np.array([1.0, 1.0, 0.0, 0.0])
    assert roc_auc(y, s) == pytest.approx(0.5)
    assert fpr_at_tpr(y, s, 0.5) == 0.5  # the tied negative comes with the tied positive
    assert fpr_at_tpr(y, s, 1.0) == 1.0


def test_degenerate_and_bad_input_raise():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.zeros(5), np.arange(5.0))
    with pytest.raises(ValueError, match="both classes"):
        fpr_at_tpr(np.ones(5), np.arange(5.0), 0.9)
    with pytest.raises(ValueError, match="must have the same shape"):
        roc_auc(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([0, 1]), np.array([np.nan, 0.2]))
    with pytest.raises(ValueError, match="tpr must be"):
        fpr_at_tpr(np.array([0, 1]), np.array([0.1, 0.2]), 0.0)


def test_error_scaler_standardises_per_channel():
    rng = np.random.default_rng(0)
    train = rng.normal([1.0, 5.0, 2.0], [0.1, 1.0, 0.0], size=(1000, 3))
    sc = ErrorScaler().fit(train)
    assert sc.std[2] == pytest.approx(sc.std[:2].mean())  # zero spread → mean spread
    z = sc.transform(np.array([[1.0 + 0.3, 5.0 - 2.0, 2.0]]))
    np.testing.assert_allclose(z[0, :2], [3.0, 2.0], rtol=0.1)
    assert ErrorScaler(ignore_mean=True).fit(train).transform(np.array([[0.0, 0.0, 0.0]])).max() == 0.0
    with pytest.raises(ValueError, match="channels"):
        sc.transform(np.zeros((1, 4)))
    with pytest.raises(RuntimeError, match="not fitted"):
        ErrorScaler().transform(np.zeros((1, 3)))


def test_metrics_table_rows():
    y = np.array([0, 0, 1, 1])
    table = metrics_table({"a": (y, np.array([0.1, 0.2, 0.3, 0.4])), "b": (y, np.array([0.4, 0.3, 0.2, 0.1]))})
    assert list(table.columns) == ["FPR@90", "FPR@95", "FPR@99", "AUC"]
    assert table.loc["a", "AUC"] == 1.0 and table.loc["b", "AUC"] == 0.0 and table.loc["a", "FPR@99"] == 0.0
