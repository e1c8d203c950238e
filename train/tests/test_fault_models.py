"""model.json's sha256 and the NaN test model of the gate's fault suite."""
import hashlib
import json
import os

import numpy as np

from qegate_train.export import write_model_json
from qegate_train.model import MULTI

REPO = os.path.join(os.path.dirname(__file__), "..", "..")


def test_model_json_carries_sha256_of_model_onnx(tmp_path):
    onnx_bytes = b"not really onnx, only hashed"
    (tmp_path / "model.onnx").write_bytes(onnx_bytes)
    doc = write_model_json(str(tmp_path / "model.json"), "m", MULTI)
    assert doc["sha256"] == hashlib.sha256(onnx_bytes).hexdigest()
    assert json.load(open(tmp_path / "model.json"))["sha256"] == doc["sha256"]


def test_nan_model_is_nan_for_one_length_in_three(tmp_path):
    import onnxruntime as ort
    from qegate_train.tiny import build_nan
    out = tmp_path / "nan"
    res = build_nan(os.path.join(REPO, "scorer", "testdata", "tiny"), str(out))
    assert res["sha256"] == hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    s = ort.InferenceSession(str(out / "model.onnx"))
    for n in range(4, 13):
        ids = np.array([[0] + [5] * (n - 2) + [2]], np.int64)
        scores = s.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
        assert np.isnan(scores).all() == (n % 3 == 0), (n, scores)
