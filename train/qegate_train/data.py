"""MLQE-PE direct-assessment reader (TSV, 8 columns, no quoting)."""
import csv
import os
from dataclasses import dataclass

import numpy as np

PAIRS = ["en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en"]
DEFAULT_DATA = "/work/shared/mlqe-pe/da"


def data_root():
    return os.environ.get("QEGATE_DATA", DEFAULT_DATA)


@dataclass
class Split:
    src: list
    mt: list
    lp: list
    mean: np.ndarray
    z: np.ndarray

    def __len__(self):
        return len(self.src)

    def subset(self, idx):
        idx = list(idx)
        return Split([self.src[i] for i in idx], [self.mt[i] for i in idx],
                     [self.lp[i] for i in idx], self.mean[idx], self.z[idx])


def read_tsv(path, lp):
    src, mt, mean, z = [], [], [], []
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(r)
        col = {name: i for i, name in enumerate(header)}
        for row in r:
            if len(row) != 8:
                raise ValueError(f"{path}: expected 8 fields, got {len(row)}")
            src.append(row[col["original"]])
            mt.append(row[col["translation"]])
            mean.append(float(row[col["mean"]]))
            z.append(float(row[col["z_mean"]]))
    return Split(src, mt, [lp] * len(src), np.array(mean, np.float32), np.array(z, np.float32))


def load(split, pairs=None, root=None):
    root = root or data_root()
    parts = [read_tsv(os.path.join(root, split, f"{lp}.tsv"), lp) for lp in (pairs or PAIRS)]
    return Split(sum((p.src for p in parts), []), sum((p.mt for p in parts), []),
                 sum((p.lp for p in parts), []),
                 np.concatenate([p.mean for p in parts]), np.concatenate([p.z for p in parts]))


def labels(split):
    """[N,3] float targets: z_mean, acceptable@51, acceptable@70."""
    return np.stack([split.z, (split.mean >= 51).astype(np.float32),
                     (split.mean >= 70).astype(np.float32)], 1)


CED_PAIRS = ["en-cs", "en-de", "en-ja", "en-zh"]


def mlqe_root():
    """The MLQE-PE root holding da/, pe/ and ced/ (QEGATE_DATA points at its da/)."""
    return os.path.dirname(os.path.normpath(data_root()))


def _rows(path, fields):
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(r)
        col = {name: i for i, name in enumerate(header)}
        for n, row in enumerate(r, 2):
            if len(row) != len(header):
                raise ValueError(f"{path}:{n}: expected {len(header)} fields, got {len(row)}")
            yield [row[col[k]] for k in fields]


@dataclass
class CED:
    """WMT21 critical-error rows: src, mt, lp, err (1 = ERR, a critical error)."""
    src: list
    mt: list
    lp: list
    err: np.ndarray

    def __len__(self):
        return len(self.src)


def load_ced(split, pairs=None, root=None):
    root = root or os.path.join(mlqe_root(), "ced")
    src, mt, lps, err = [], [], [], []
    for lp in pairs or CED_PAIRS:
        for s, m, lab in _rows(os.path.join(root, split, f"{lp}.tsv"),
                               ["original", "translation", "label"]):
            if lab not in ("ERR", "NOT"):
                raise ValueError(f"ced/{split}/{lp}.tsv: label {lab!r} is neither ERR nor NOT")
            src.append(s); mt.append(m); lps.append(lp); err.append(lab == "ERR")
    return CED(src, mt, lps, np.array(err, np.float32))


def join_key(text):
    """The MLQE-PE join key of a source sentence: letters and digits only (the pe/ files are
    Moses-tokenized and escaped, the da/ files are not)."""
    import html
    return "".join(ch for ch in html.unescape(text) if ch.isalnum())


def load_pe(split, pairs=None, root=None):
    """{lp: {join_key(src): (hter, pe)}} from pe/<split>/<lp>.tsv."""
    root = root or os.path.join(mlqe_root(), "pe")
    out = {}
    for lp in pairs or PAIRS:
        d = out.setdefault(lp, {})
        for s, pe, h in _rows(os.path.join(root, split, f"{lp}.tsv"), ["src", "pe", "hter"]):
            d[join_key(s)] = (float(h), pe)
    return out


def hter_for(split_rows, pe):
    """HTER of each DA row (NaN where the source has no post-edit row)."""
    return np.array([pe.get(lp, {}).get(join_key(s), (np.nan, None))[0]
                     for s, lp in zip(split_rows.src, split_rows.lp)], np.float32)
