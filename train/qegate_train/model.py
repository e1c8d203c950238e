"""Cross-encoder QE model: BERT encoder, mean pooling, MLP head -> scores [batch, K]."""
import torch
from torch import nn

# output columns of the multi-output model (model.json contract)
MULTI = ["z", "da51", "da70"]


class QEModel(nn.Module):
    def __init__(self, config, n_out=3, head_hidden=None, dropout=0.1, attn="eager"):
        super().__init__()
        from transformers import AutoModel
        config._attn_implementation = attn
        self.bert = AutoModel.from_config(config, add_pooling_layer=False)
        # BERT layout (e5): positions from 0; RoBERTa/XLM-R layout: from pad_token_id + 1
        self.pos_offset = (config.pad_token_id + 1) if config.model_type in (
            "roberta", "xlm-roberta", "camembert") else 0
        h = config.hidden_size
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(h, head_hidden or h), nn.Tanh(),
                                  nn.Dropout(dropout), nn.Linear(head_hidden or h, n_out))

    def forward(self, input_ids, attention_mask):
        tt = torch.zeros_like(input_ids)
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0) + self.pos_offset
        hs = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=tt,
                       position_ids=pos).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hs.dtype)
        pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled)
