"""qegate_train: the recipe that builds qegate's compressed QE models (see train/README.md)."""
__version__ = "0.1.0"
