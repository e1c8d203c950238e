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
