"""Training rows beyond MLQE-PE DA (model v2): the failures a gate must never publish.

The DA rows almost never contain a translation of another sentence, a translation cut short or
one with invented content, so a model trained on them alone publishes such pairs. Each kind
below is a flag (fraction of the DA row count, 0 = off) so that docs/compression.md can ablate
it. Every row carries five targets, in the column order of OUTPUTS, and a mask of which
targets are known (a masked target adds nothing to the loss):

  z        DA z-score (regression)              da51/da70  acceptable at DA >= 51 / >= 70
  hter     edit rate of the post-edit (sigmoid)  critical   WMT21 critical error (ERR)

Synthetic labels follow what a human rater would give: an unrelated MT or invented content is
unacceptable and critical (a hallucination, in WMT21's definition); a cut MT is unacceptable
(its critical label is left unknown: WMT21 counts only harmful omissions)."""
from dataclasses import dataclass, field

import numpy as np

from . import data

OUTPUTS = ["z", "da51", "da70", "hter", "critical"]

KIND_DA, KIND_UNRELATED, KIND_CUT, KIND_APPEND, KIND_PE, KIND_CED = range(6)
KIND_NAMES = ["da", "unrelated", "cut", "append", "pe", "ced"]


@dataclass
class Extras:
    """Fractions of the DA train row count added as each kind of extra row (0 = off), and
    whether to use HTER (a 4th target) and the WMT21 CED rows (the 5th). Zero value: DA only."""
    unrelated: float = 0.0
    cut: float = 0.0
    append: float = 0.0
    pe: float = 0.0
    ced: float = 0.0          # fraction of the CED train rows used (1.0 = all)
    hter: bool = False
    seed: int = 0

    @classmethod
    def v2(cls):
        """The shipped model v2's mix (docs/compression.md, ablation). Post-edit rows are off:
        they cost dev Pearson in the ablation."""
        return cls(unrelated=0.15, cut=0.05, append=0.05, pe=0.0, ced=1.0, hter=True)

    def any(self):
        return bool(self.unrelated or self.cut or self.append or self.pe or self.ced or self.hter)


@dataclass
class Rows:
    """Text rows with targets y [N, 5] and known-mask m [N, 5] (columns: OUTPUTS)."""
    src: list
    mt: list
    lp: list
    kind: np.ndarray
    y: np.ndarray
    m: np.ndarray
    info: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.src)


def _cut(text, frac):
    """The first `frac` of a text, at a word boundary when it has words (else characters)."""
    words = text.split(" ")
    if len(words) >= 3:
        return " ".join(words[:max(1, int(round(len(words) * frac)))])
    return text[:max(1, int(round(len(text) * frac)))]


def _clause(text, rng):
    """A trailing chunk (a third to a half) of another translation: invented content."""
    words = text.split(" ")
    if len(words) >= 4:
        k = max(2, int(len(words) * rng.uniform(0.33, 0.5)))
        return " ".join(words[-k:])
    n = len(text)
    return text[n - max(2, int(n * rng.uniform(0.33, 0.5))):]


def pair_percentile(split, q):
    """Per language pair, the q-th percentile of train z (the z given to a synthetic row)."""
    lp = np.asarray(split.lp)
    return {p: float(np.percentile(split.z[lp == p], q)) for p in sorted(set(split.lp))}


def da_rows(split, hter=None):
    """The DA rows themselves: z, da51, da70 known; hter where the post-edit join found it."""
    n = len(split)
    y = np.zeros((n, 5), np.float32)
    m = np.zeros((n, 5), np.float32)
    y[:, 0], y[:, 1], y[:, 2] = split.z, split.mean >= 51, split.mean >= 70
    m[:, :3] = 1
    if hter is not None:
        ok = np.isfinite(hter)
        y[ok, 3] = np.clip(hter[ok], 0, 1)
        m[ok, 3] = 1
    return Rows(list(split.src), list(split.mt), list(split.lp), np.full(n, KIND_DA), y, m)


def _other(idx_by_lp, lp, i, rng):
    """Another row of the same language pair (never i itself)."""
    pool = idx_by_lp[lp]
    j = i
    while j == i:
        j = int(pool[rng.integers(len(pool))])
    return j


def synthetic(split, ex, rng):
    """Unrelated / cut / appended rows built from the DA split (text level)."""
    lps = np.asarray(split.lp)
    idx_by_lp = {p: np.nonzero(lps == p)[0] for p in set(split.lp)}
    low2, low5 = pair_percentile(split, 2), pair_percentile(split, 5)
    src, mt, lp, kind, ys, ms = [], [], [], [], [], []

    def add(s, t, p, k, z, crit):
        src.append(s); mt.append(t); lp.append(p); kind.append(k)
        y = np.zeros(5, np.float32); m = np.zeros(5, np.float32)
        y[0], m[0] = z, 1
        m[1] = m[2] = 1                      # unacceptable at both thresholds
        if k == KIND_UNRELATED:
            y[3], m[3] = 1.0, 1              # nothing of the MT survives a post-edit
        if crit is not None:
            y[4], m[4] = crit, 1
        ys.append(y); ms.append(m)

    n = len(split)
    for i in rng.choice(n, int(round(ex.unrelated * n)), replace=False):
        p = split.lp[i]
        add(split.src[i], split.mt[_other(idx_by_lp, p, i, rng)], p, KIND_UNRELATED, low2[p], 1.0)
    for i in rng.choice(n, int(round(ex.cut * n)), replace=False):
        p = split.lp[i]
        cut = _cut(split.mt[i], rng.choice([1 / 3, 1 / 2]))
        if cut.strip() and cut != split.mt[i]:
            add(split.src[i], cut, p, KIND_CUT, low5[p], None)
    for i in rng.choice(n, int(round(ex.append * n)), replace=False):
        p = split.lp[i]
        extra = _clause(split.mt[_other(idx_by_lp, p, i, rng)], rng)
        add(split.src[i], split.mt[i].rstrip() + " " + extra, p, KIND_APPEND, low5[p], 1.0)
    if not src:
        return None
    return Rows(src, mt, lp, np.array(kind), np.stack(ys), np.stack(ms))


def detok(text, lp):
    """Undo the pe/ files' Moses tokenization well enough for training text: unescape, drop the
    spaces before closing punctuation and after opening brackets, join Chinese words."""
    import html
    import re
    t = html.unescape(text)
    t = re.sub(r" ([.,;:!?%)\]}»”])", r"\1", t)
    t = re.sub(r"([(\[{«“]) ", r"\1", t)
    t = re.sub(r" ' ", "'", t)
    if lp.endswith("-zh"):
        t = re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", t)
    return t


def pe_rows(split, pe, frac, rng):
    """(source, human post-edit) as acceptable rows: z = the pair's 90th percentile, HTER 0."""
    hi = pair_percentile(split, 90)
    n = len(split)
    src, mt, lp, ys, ms = [], [], [], [], []
    for i in rng.choice(n, int(round(frac * n)), replace=False):
        p = split.lp[i]
        hit = pe.get(p, {}).get(data.join_key(split.src[i]))
        if not hit:
            continue
        src.append(split.src[i]); mt.append(detok(hit[1], p)); lp.append(p)
        ys.append([hi[p], 1, 1, 0, 0]); ms.append([1, 1, 1, 1, 0])
    return Rows(src, mt, lp, np.full(len(src), KIND_PE), np.array(ys, np.float32),
                np.array(ms, np.float32))


def ced_rows(ced, frac, rng):
    """WMT21 CED rows: only the critical target is known."""
    n = len(ced)
    idx = np.sort(rng.choice(n, int(round(frac * n)), replace=False)) if frac < 1 else np.arange(n)
    y = np.zeros((len(idx), 5), np.float32)
    m = np.zeros((len(idx), 5), np.float32)
    y[:, 4], m[:, 4] = ced.err[idx], 1
    return Rows([ced.src[i] for i in idx], [ced.mt[i] for i in idx], [ced.lp[i] for i in idx],
                np.full(len(idx), KIND_CED), y, m)


def concat(parts):
    parts = [p for p in parts if p is not None and len(p)]
    return Rows(sum((p.src for p in parts), []), sum((p.mt for p in parts), []),
                sum((p.lp for p in parts), []), np.concatenate([p.kind for p in parts]),
                np.concatenate([p.y for p in parts]), np.concatenate([p.m for p in parts]))


def build(split_name, ex):
    """All training rows of a split for the extras `ex` (deterministic in ex.seed)."""
    rng = np.random.default_rng([ex.seed, 21])
    da = data.load(split_name)
    pe = data.load_pe(split_name) if (ex.hter or ex.pe) else None
    parts = [da_rows(da, data.hter_for(da, pe) if ex.hter else None)]
    if ex.unrelated or ex.cut or ex.append:
        parts.append(synthetic(da, ex, rng))
    if ex.pe:
        parts.append(pe_rows(da, pe, ex.pe, rng))
    if ex.ced:
        parts.append(ced_rows(data.load_ced(split_name), ex.ced, rng))
    rows = concat(parts)
    rows.info = {KIND_NAMES[k]: int((rows.kind == k).sum()) for k in range(len(KIND_NAMES))}
    return rows


def unrelated_dev(seed=1, per_pair=None):
    """Dev DA pairs with each MT moved to another sentence of its pair (the gate's worst case):
    (src, mt, lp) lists, one per dev row (or the first per_pair rows of each pair)."""
    dv = data.load("dev")
    rng = np.random.default_rng(seed)
    out_src, out_mt, out_lp = [], [], []
    for p in data.PAIRS:
        idx = [i for i, q in enumerate(dv.lp) if q == p]
        perm = np.array(idx)[np.roll(np.arange(len(idx)), 1 + int(rng.integers(len(idx) - 1)))]
        for i, j in list(zip(idx, perm))[:per_pair]:
            out_src.append(dv.src[i]); out_mt.append(dv.mt[j]); out_lp.append(p)
    return out_src, out_mt, out_lp
