"""One-off experiments quoted in docs/compression.md, kept runnable: each module's ``main``
reproduces a number there. Paths do not depend on the working directory: the shipped model is
found next to this package (``MODEL_DIR``), scratch goes to the recipe's work dir
(``workdir.path("scripts")``).

Run: ``python -m qegate_train.experiments NAME`` (``--list`` names them).
"""
import os

# models/default of the repository this package sits in (train/qegate_train/experiments/).
MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "models", "default")

NAMES = ("cpu_rate", "hf_route_check", "nbits_probe", "tokjson_size")
