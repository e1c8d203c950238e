"""python -m qegate_train.experiments NAME: run one experiment (see the package docstring)."""
import importlib
import sys

from . import NAMES


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in NAMES:
        print("usage: python -m qegate_train.experiments {" + ",".join(NAMES) + "}", file=sys.stderr)
        return 0 if argv == ["--list"] else 2
    importlib.import_module(f".{argv[0]}", __package__).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
