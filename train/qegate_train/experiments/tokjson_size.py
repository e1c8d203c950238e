"""Experiment behind docs/compression.md section 8 (directory size): how small the full-vocabulary tokenizer.json could get (gzip; scores as the shortest float32 decimal) and whether the rounded scores segment dev + the CLDR sample identically; also which dev text is still <unk>.

Run: python -m qegate_train.experiments tokjson_size
"""
import collections, gzip, json
import numpy as np
from tokenizers import Tokenizer
from .. import data, scriptsample

from . import MODEL_DIR


def main():
    raw = open(MODEL_DIR + "/tokenizer.json", "rb").read()
    tj = json.loads(raw)
    print("tokenizer.json", len(raw), "gzip -9", len(gzip.compress(raw, 9)))
    tj["model"]["vocab"] = [[p, float(str(np.float32(s)))] for p, s in tj["model"]["vocab"]]
    small = json.dumps(tj, ensure_ascii=False, separators=(",", ":")).encode()
    print("float32-shortest scores", len(small), "gzip -9", len(gzip.compress(small, 9)))
    a, b = Tokenizer.from_str(raw.decode()), Tokenizer.from_str(small.decode())
    dv = data.load("dev")
    texts = dv.src + dv.mt + [r[2] for r in scriptsample.cldr_sample()]
    ea = a.encode_batch(texts, add_special_tokens=False)
    eb = b.encode_batch(texts, add_special_tokens=False)
    print("texts", len(texts), "identical segmentations", sum(x.ids == y.ids for x, y in zip(ea, eb)))
    unk = collections.Counter()
    for t, e in zip(texts[:len(dv.src) * 2], ea):
        unk.update(t[i:j] for tid, (i, j) in zip(e.ids, e.offsets) if tid == 3)
    print("dev <unk> spans", unk.most_common(10))
