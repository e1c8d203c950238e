"""Step 1 of the recipe (CPU): base model -> trimmed tokenizer + compact base + encoded data.

Everything lands in <work dir>/carry/ (small enough to travel to a GPU machine)."""
import json
import os
import time

import numpy as np

from . import data, e5bin, tokjson, vocab, workdir


def carry_dir(base_id=None, v2=False):
    """prepare's output dir: <work dir>/carry, or carry_<slug> for a hub id / local dir base;
    carry_v2 for the v2 vocabulary (also covering the post-edit and critical-error text)."""
    if v2:
        return workdir.path("carry_v2")
    return workdir.path("carry" if not base_id else "carry_" + workdir.slug(base_id))


def v2_texts():
    """Text beyond DA that the v2 recipe trains on: WMT21 CED (en-cs and en-ja are not in DA,
    so their pieces and scripts must survive the trim) and the detokenized post-edits."""
    from .augment import detok
    texts = []
    for split in ("train", "dev"):
        c = data.load_ced(split)
        texts += c.src + c.mt
        for lp, rows in data.load_pe(split).items():
            texts += [detok(pe, lp) for _, pe in rows.values()]
    return texts


def encode_split(tok, split, max_len=512):
    """Ragged token ids of each side (no specials, untruncated up to max_len each)."""
    out = {}
    for side, texts in (("src", split.src), ("mt", split.mt)):
        enc = tok.encode_batch(texts, add_special_tokens=False)
        lens = np.array([min(len(e.ids), max_len) for e in enc], np.int64)
        flat = np.concatenate([np.array(e.ids[:max_len], np.int32) for e in enc])
        out[side + "_ids"] = flat
        out[side + "_off"] = np.concatenate([[0], np.cumsum(lens)])
    out["lp"] = np.array([data.PAIRS.index(l) for l in split.lp], np.int64)
    out["mean"] = split.mean
    out["z"] = split.z
    return out


def prepare(out=None, log=print, v2=False):
    out = out or carry_dir(v2=v2)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    b = e5bin.load_default()
    norm = tokjson.normalizer_from_table(b.norm)
    full = tokjson.load(tokjson.build_tokenizer_json(b.pieces, b.scores, norm))
    tr, dv = data.load("train"), data.load("dev")
    texts = tr.src + tr.mt + dv.src + dv.mt + (v2_texts() if v2 else [])
    counts = vocab.count_pieces(full, texts)
    rows = vocab.select_rows(b.pieces, counts, texts_for_scripts=texts)
    pieces, scores = vocab.trim(b.pieces, b.scores, rows)
    tj = tokjson.build_tokenizer_json(pieces, scores, norm)
    tokjson.write(os.path.join(out, "tokenizer.json"), tj)
    tok = tokjson.load(tj)
    # the trimmed tokenizer must segment the corpus exactly like the full one (remapped ids)
    remap = {int(o): i for i, o in enumerate(rows)}
    agree = 0
    sample = texts[::50]
    for a, c in zip(full.encode_batch(sample, add_special_tokens=False),
                    tok.encode_batch(sample, add_special_tokens=False)):
        agree += [remap[i] for i in a.ids] == c.ids
    e5bin.CompactBase.save(b, rows, os.path.join(out, "base.npz"))
    for name, sp in (("train", tr), ("dev", dv)):
        np.savez(os.path.join(out, f"{name}.npz"), **encode_split(tok, sp))
    info = {"full_vocab": len(b.pieces), "embedding_rows": int(b.VOC), "used_pieces": len(counts),
            "kept_pieces": len(pieces), "trim_agreement_sample": agree / len(sample),
            "n_sample": len(sample), "seconds": round(time.time() - t0, 1),
            "texts": "MLQE-PE DA train+dev" + (" + CED train+dev + PE post-edits" if v2 else "")}
    with open(os.path.join(out, "prepare.json"), "w") as f:
        json.dump(info, f, indent=1)
    log(json.dumps(info))
    return info
