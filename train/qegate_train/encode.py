"""Pair encoding, identical to docs/ARCHITECTURE.md ("xlmr" pair format)."""
import numpy as np

BOS, PAD, EOS, UNK = 0, 1, 2, 3


def pair_ids(src_ids, mt_ids, max_len=128, bos=BOS, eos=EOS):
    s, m = list(src_ids), list(mt_ids)
    while len(s) + len(m) + 4 > max_len:
        if len(s) >= len(m):
            s.pop()
        else:
            m.pop()
    return [bos] + s + [eos, eos] + m + [eos]


def encode_pairs(tok, src, mt, max_len=128):
    """tok: tokenizers.Tokenizer. Returns list of id lists."""
    es = tok.encode_batch(list(src), add_special_tokens=False)
    em = tok.encode_batch(list(mt), add_special_tokens=False)
    return [pair_ids(a.ids, b.ids, max_len) for a, b in zip(es, em)]


def pad_batch(seqs, pad=PAD):
    L = max(len(s) for s in seqs)
    ids = np.full((len(seqs), L), pad, np.int64)
    mask = np.zeros((len(seqs), L), np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return ids, mask
