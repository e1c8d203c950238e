"""Cross-encoder QE model: BERT encoder, mean pooling, MLP head -> scores [batch, K]."""
import torch
from torch import nn

# output columns of the multi-output model (model.json contract)
MULTI = ["z", "da51", "da70"]


class QEModel(nn.Module):
    def __init__(self, config, n_out=3, head_hidden=None, dropout=0.1, attn="eager"):
        super().__init__()
        from transformers import BertModel
        config._attn_implementation = attn
        self.bert = BertModel(config, add_pooling_layer=False)
        h = config.hidden_size
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(h, head_hidden or h), nn.Tanh(),
                                  nn.Dropout(dropout), nn.Linear(head_hidden or h, n_out))

    def forward(self, input_ids, attention_mask):
        tt = torch.zeros_like(input_ids)
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        hs = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=tt,
                       position_ids=pos).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hs.dtype)
        pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled)
