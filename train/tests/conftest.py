import os
import struct
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581the", "\u2581cat", "s", "\u2581sat",
          "\u2581on", "\u2581mat", "a", "t", "c", "h", "e", "o", "n", "m", "\u2581c", "at",
          "\u2581d", "og", "\u2581dog", "\u2581Haus", "H", "u", ",", ".", "\u2581a", "r", "i",
          "\u2581is", "\u2581red", "d", "g", "x", "\u2581\u0928", "\u0928", "\u2581\u4e2d", "\u4e2d",
          "\u6587", "<mask>"]


def q4_blocks(w):
    """Q4_0-encode a flat float array (len multiple of 32)."""
    out = bytearray()
    for blk in w.reshape(-1, 32):
        d = np.abs(blk).max() / 7.0 or 1.0
        q = np.clip(np.round(blk / d) + 8, 0, 15).astype(np.uint8)
        out += np.float16(d).tobytes()
        out += bytes((q[j] | (q[j + 16] << 4)) for j in range(16))
    return bytes(out)


def write_e5bin(path, H=32, NL=3, NH=2, FF=64, MAXP=64, seed=0, pieces=None):
    rng = np.random.default_rng(seed)
    PIECES = pieces or globals()["PIECES"]
    V = len(PIECES)
    scores = np.array([0, 0, 0, 0] + [-(i % 7) - 1.0 - 0.1 * i for i in range(V - 4)], np.float32)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype(np.uint32)
    norm = {0x09: [0x20], 0x0A: [0x20], 0x01: [], 0xFF21: [0x41], 0x3000: [0x20]}
    nm = b"".join(struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *o)
                  for cp, o in sorted(norm.items()))
    tensors = []  # (name, dtype, n, bytes)

    def add(name, arr, q4=False):
        arr = np.asarray(arr, np.float32).reshape(-1)
        tensors.append((name, 1 if q4 else 0, arr.size, q4_blocks(arr) if q4 else arr.tobytes()))
    add("emb.word", rng.normal(0, 0.5, (V, H)), q4=True)
    add("emb.pos", rng.normal(0, 0.1, (MAXP, H)))
    add("emb.type", rng.normal(0, 0.1, (2, H)))
    add("emb.ln.w", np.ones(H)); add("emb.ln.b", np.zeros(H))
    for l in range(NL):
        for k, (o, i) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H),
                          "fo": (H, FF)}.items():
            add(f"l{l}.{k}.w", rng.normal(0, 0.2, (o, i)), q4=True)
            add(f"l{l}.{k}.b", rng.normal(0, 0.02, o))
        for k in ("aln", "oln"):
            add(f"l{l}.{k}.w", np.ones(H)); add(f"l{l}.{k}.b", np.zeros(H))
    head = b"E5S1" + struct.pack("<I8i", 1, H, NL, NH, FF, V, MAXP, 2, 0)[:4 + 32]
    head = b"E5S1" + struct.pack("<I7i", 1, H, NL, NH, FF, V, MAXP, 2) + struct.pack("<fi", 1e-12, 32)
    head += struct.pack("<5iQ", V, 0, 2, 1, 3, len(blob)) + offs.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(norm), len(nm)) + nm
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n, *_ in tensors)
    off = len(head) + dir_size
    d = struct.pack("<i", len(tensors))
    data = b""
    for name, dt, n, raw in tensors:
        d += struct.pack("<H", len(name)) + name.encode() + bytes([dt]) + struct.pack("<IQQ", n, off + len(data), len(raw))
        data += raw
    with open(path, "wb") as f:
        f.write(head + d + data)
    return path


@pytest.fixture(scope="session")
def tiny_bin(tmp_path_factory):
    from qegate_train.e5bin import E5Bin
    p = tmp_path_factory.mktemp("e5") / "tiny.bin"
    write_e5bin(str(p))
    return E5Bin(str(p))
