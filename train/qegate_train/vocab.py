"""Vocabulary trimming: keep the pieces a corpus uses plus single-character pieces of its scripts."""
import collections
import unicodedata

import numpy as np

from .tokjson import SPECIALS


def script_of(ch):
    """Coarse script key of a character (first word of its Unicode name; e.g. LATIN, CJK, SINHALA)."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    return name.split(" ")[0]


def count_pieces(tok, texts, batch=2048):
    cnt = collections.Counter()
    texts = list(texts)
    for i in range(0, len(texts), batch):
        for e in tok.encode_batch(texts[i:i + batch], add_special_tokens=False):
            cnt.update(e.ids)
    return cnt


def select_rows(pieces, counts, texts_for_scripts=(), max_pieces=None, keep_scripts=True,
                extra_ids=()):
    """Return sorted old ids to keep.

    counts: Counter old_id -> frequency on the corpus. Keeps the 4 specials, every used piece (or
    the max_pieces most frequent), and, if keep_scripts, every single-character piece (with or
    without the U+2581 prefix) whose script occurs in texts_for_scripts, plus digits/punctuation/
    symbols, so unseen words still segment without <unk>."""
    keep = set(range(len(SPECIALS))) | set(extra_ids)
    used = [i for i, _ in counts.most_common(max_pieces)]
    keep.update(used)
    if keep_scripts:
        scripts = set()
        for t in texts_for_scripts:
            for ch in t:
                s = script_of(ch)
                if s:
                    scripts.add(s)
        for i, p in enumerate(pieces):
            core = p[1:] if p.startswith("\u2581") and len(p) > 1 else p
            if len(core) != 1:
                continue
            cat = unicodedata.category(core)
            if script_of(core) in scripts or cat[0] in "NPSZ" or p == "\u2581":
                keep.add(i)
    return np.array(sorted(keep), np.int64)


def trim(pieces, scores, rows):
    """New (pieces, scores) in the order of rows; rows[:4] must be the specials."""
    assert list(rows[:4]) == [0, 1, 2, 3]
    return [pieces[i] for i in rows], [float(scores[i]) for i in rows]
