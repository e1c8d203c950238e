"""The experiments quoted in docs/compression.md stay importable and reachable by name."""
import importlib
import os

from qegate_train import experiments
from qegate_train.experiments.__main__ import main


def test_every_experiment_has_a_main():
    for name in experiments.NAMES:
        mod = importlib.import_module(f"qegate_train.experiments.{name}")
        assert callable(mod.main), name


def test_unknown_name_is_refused():
    assert main(["nope"]) == 2
    assert main(["--list"]) == 0


def test_model_dir_is_the_repositorys():
    assert os.path.isfile(os.path.join(experiments.MODEL_DIR, "model.json"))
