"""CPU training speed behind docs/compression.md section 7.

Run: python -m qegate_train.experiments cpu_rate
"""
import torch, json
from .. import workdir
from .. import train
from ..e5bin import CompactBase


def main():
    workdir.path("scripts", create=True)  # scratch of these one-off scripts
    base=CompactBase(workdir.path('carry/base.npz'))
    tr=train.load_enc(workdir.path('carry/train.npz'))
    dv=train.load_enc(workdir.path('carry/dev.npz'))
    dv={k:v[:64] for k,v in dv.items()}
    torch.set_num_threads(2)
    for L in (4,12):
        r=train.run_one({"name":f"rate_L{L}","layers":L,"task":"multi","epochs":1,"max_steps":40 if L==4 else 20,"log_every":10}, base, tr, dv, torch.device('cpu'), workdir.path('scripts', 'rate'), log=print)
        print(json.dumps({"layers":L,"steps":r["steps"],"sec":r["train_sec"],"steps_per_sec":r["steps_per_sec"]}))
