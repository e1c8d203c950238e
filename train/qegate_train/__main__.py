import argparse
import json
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m qegate_train")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tiny", help="tiny random-weights model for scorer tests")
    p.add_argument("--out", default="scorer/testdata/tiny")
    p.add_argument("--pieces", type=int, default=3000)
    p = sub.add_parser("prepare", help="base model -> trimmed tokenizer, compact base, encoded data")
    p = sub.add_parser("sweep", help="fine-tuning sweep (GPU call)")
    p.add_argument("--carry", default="train/.work/carry")
    p.add_argument("--out", required=True)
    p.add_argument("--budget", type=float, default=420)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--only", nargs="*")
    a = ap.parse_args(argv)
    if a.cmd == "prepare":
        from .prepare import prepare
        prepare()
    if a.cmd == "sweep":
        from .sweep import main as sweep
        sweep(a.carry, a.out, a.budget, smoke=a.smoke, names=a.only)
    if a.cmd == "tiny":
        from .tiny import build_tiny
        print(json.dumps(build_tiny(a.out, n_pieces=a.pieces)))


if __name__ == "__main__":
    sys.exit(main())
