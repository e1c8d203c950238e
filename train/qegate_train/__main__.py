"""`python -m qegate_train`: the same command line as the `qegate-train` entry point."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
