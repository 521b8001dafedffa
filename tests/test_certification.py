import json
from pathlib import Path

import numpy as np
import pytest

from hcaltl.certification import load_golden_json, parse_golden
from hcaltl.multihead import load_golden_json as public_loader

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cms-dqm"
GOLDEN_2010 = SHARED / "Cert_136033-149442_7TeV_Apr21ReReco_Collisions10_JSON_v2.txt"


@pytest.fixture
def golden(tmp_path):
    path = tmp_path / "golden.json"
    path.write_text(json.dumps({"1": [[5, 5], [1, 3]], "2": [[2, 4]]}))
    return path


def test_ranges_are_inclusive_and_absent_runs_are_bad(golden):
    cert = load_golden_json(golden)
    assert public_loader is load_golden_json
    assert cert.runs == [1, 2] and cert.n_certified == 7
    run = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 3])
    ls = np.array([1, 2, 3, 4, 5, 6, 1, 4, 5, 1])
    assert cert.labels(run, ls).tolist() == [True, True, True, False, True, False, False, True, False, False]
    assert cert.is_good(2, 3) and not cert.is_good(3, 3)
    assert cert.table().loc[1, "ranges"] == 2 and cert.table().loc[1, "first LS"] == 1


@pytest.mark.parametrize(
    "raw, match",
    [
        ([[1, 2]], "object of runs"),
        ({"x": [[1, 2]]}, "not a positive integer"),
        ({"1": [[3, 2]]}, "invalid range"),
        ({"1": [[0, 2]]}, "invalid range"),
        ({"1": [[1, 2, 3]]}, "expected \\[first, last\\]"),
        ({"1": [[1, 5], [4, 6]]}, "overlapping"),
        ({"1": 7}, "expected \\[first, last\\]"),
    ],
)
def test_malformed_certifications_raise_clear_errors(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_golden(raw)


def test_missing_or_invalid_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="no certification JSON"):
        load_golden_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{1: ")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_golden_json(bad)


def test_labels_need_matching_shapes(golden):
    with pytest.raises(ValueError, match="differ in shape"):
        load_golden_json(golden).labels(np.array([1, 2]), np.array([1]))


@pytest.mark.skipif(not GOLDEN_2010.exists(), reason="shared 2010 golden JSON not present")
def test_the_2010_golden_json_has_its_published_size():
    cert = load_golden_json(GOLDEN_2010)
    assert len(cert.runs) == 273 and cert.runs[0] == 136035 and cert.runs[-1] == 149294
    assert cert.n_certified == 74596
