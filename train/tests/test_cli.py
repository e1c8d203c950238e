"""CLI parsing (argparse sub-commands), work-dir resolution, and packaging (pyproject)."""
import os
import re
import subprocess
import sys
import sysconfig
import tomllib

import pytest

from qegate_train import cli, workdir

TRAIN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def fresh_workdir(monkeypatch):
    """Each test starts with no --work-dir applied and its own QEGATE_WORK (restored after)."""
    monkeypatch.setattr(workdir, "_root", None)
    monkeypatch.delenv(workdir.ENV, raising=False)


@pytest.mark.parametrize("argv,func,attrs", [
    (["tiny"], cli.cmd_tiny, {"out": "scorer/testdata/tiny", "pieces": 3000}),
    (["tiny", "--out", "/x", "--pieces", "7"], cli.cmd_tiny, {"out": "/x", "pieces": 7}),
    (["tiny-critical"], cli.cmd_tiny_critical,
     {"src": "scorer/testdata/tiny", "out": "scorer/testdata/critical"}),
    (["prepare"], cli.cmd_prepare, {"base": None, "out": None}),
    (["prepare", "--base", "xlm-roberta-large"], cli.cmd_prepare, {"base": "xlm-roberta-large"}),
    (["check-base", "--per-pair", "5"], cli.cmd_check_base, {"per_pair": 5}),
    (["sweep", "--out", "o", "--smoke", "--only", "a", "b"], cli.cmd_sweep,
     {"out": "o", "smoke": True, "only": ["a", "b"], "carry": None, "budget": 420}),
    (["ship", "--run", "r.json", "--weights", "w.pt", "--layers", "4"], cli.cmd_ship,
     {"run": "r.json", "layers": 4, "out": "models/default", "task": "multi", "carry": None,
      "per_channel": False}),
    (["ship", "--run", "r.json", "--weights", "w.pt", "--layers", "6", "--per-channel"],
     cli.cmd_ship, {"per_channel": True}),
    (["fuse-attention"], cli.cmd_fuse_attention, {"model": "models/l4", "num_heads": 12,
                                                  "rounds": 5, "version": None}),
    (["fuse-attention", "--model", "m", "--num-heads", "4", "--version", "1.2.0"],
     cli.cmd_fuse_attention, {"model": "m", "num_heads": 4, "version": "1.2.0"}),
    (["fidelity"], cli.cmd_fidelity, {"model": "models/default", "fp32_scores": None,
                                      "boot": 300, "dry_run": False}),
    (["fidelity", "--model", "m", "--fp32-scores", "f.npy", "--boot", "50", "--dry-run"],
     cli.cmd_fidelity, {"model": "m", "fp32_scores": "f.npy", "boot": 50, "dry_run": True}),
    (["rescore"], cli.cmd_rescore, {"model": "models/default"}),
    (["static-int8"], cli.cmd_static_int8, {"model": "models/default", "rows": 2000,
                                            "percentile": 99.0, "seed": 1, "version": None}),
    (["static-int8", "--model", "m", "--percentile", "99.9", "--version", "2.1.0"],
     cli.cmd_static_int8, {"model": "m", "percentile": 99.9, "version": "2.1.0"}),
    (["cpu-graph"], cli.cmd_cpu_graph, {"model": "models/default", "rounds": 5, "version": None}),
    (["cpu-graph", "--model", "m", "--version", "2.2.0", "--rounds", "3"], cli.cmd_cpu_graph,
     {"model": "m", "version": "2.2.0", "rounds": 3}),
    (["build-default", "--no-distill", "--layers", "3"], cli.cmd_build_default,
     {"no_distill": True, "layers": 3, "base": None, "out": "models/default", "trimmed": False}),
    (["build-default", "--trimmed"], cli.cmd_build_default, {"trimmed": True}),
    (["build-v2"], cli.cmd_build_v2, {"out": "models/default", "layers": 6, "epochs": 1,
                                      "threads": None}),
    (["build-default", "--out", "models/l4"], cli.cmd_build_default, {"out": "models/l4"}),
    (["batch-check", "--model", "m"], cli.cmd_batch_check, {"model": "m"}),
    (["glassbox"], cli.cmd_glassbox, {"model": "models/default", "write": False,
                                      "reference": None, "threads": 1}),
    (["glassbox", "--write", "--reference", "r.jsonl"], cli.cmd_glassbox,
     {"write": True, "reference": "r.jsonl"}),
    (["long-run"], cli.cmd_long_run, {"name": "next_L6", "layers": 6, "epochs": 10,
                                      "patience": 2, "threads": 1, "ckpt_minutes": 10.0}),
    (["long-run", "--name", "r", "--layers", "4", "--patience", "0"], cli.cmd_long_run,
     {"name": "r", "layers": 4, "patience": 0}),
    (["latency", "--seconds", "5"], cli.cmd_latency, {"seconds": 5.0, "carry": None}),
    (["report"], cli.cmd_report, {"model": "models/default", "fig_dir": "docs/img"}),
    (["full-vocab"], cli.cmd_full_vocab, {"model": "models/default", "out": None,
                                          "format": "codebook", "script_pairs": 2}),
    (["full-vocab", "--format", "gbq", "--script-pairs", "0", "--no-rescore"], cli.cmd_full_vocab,
     {"format": "gbq", "script_pairs": 0, "no_rescore": True}),
    (["unk-rate", "--model", "a", "--model", "b"], cli.cmd_unk_rate, {"model": ["a", "b"]}),
    (["--work-dir", "/w", "rescore"], cli.cmd_rescore, {"work_dir": "/w"}),
])
def test_parse(argv, func, attrs):
    a = cli.build_parser().parse_args(argv)
    assert a.func is func
    for k, v in attrs.items():
        assert getattr(a, k) == v, k


@pytest.mark.parametrize("argv", [[], ["nope"], ["ship", "--run", "r"], ["tiny", "--pieces", "x"],
                                  ["sweep"], ["full-vocab", "--format", "fp8"]])
def test_parse_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(argv)
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_every_command_has_help():
    ap = cli.build_parser()
    sub = next(a for a in ap._actions if a.dest == "cmd")
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert set(helps) == set(sub.choices) and len(helps) >= 12
    assert all(h and len(h) > 15 for h in helps.values()), helps


@pytest.mark.parametrize("cli_value,env,want", [
    ("/cli/dir", {workdir.ENV: "/env/dir"}, "/cli/dir"),      # the flag wins
    (None, {workdir.ENV: "/env/dir"}, "/env/dir"),            # then the environment
    (None, {}, workdir.DEFAULT),                              # then train/.work
    (None, {workdir.ENV: ""}, workdir.DEFAULT),               # empty = unset
    ("rel/dir", {}, os.path.abspath("rel/dir")),              # made absolute
    ("~/w", {}, os.path.join(os.path.expanduser("~"), "w")),
])
def test_resolve(cli_value, env, want):
    assert workdir.resolve(cli_value, env) == want


def test_default_is_train_dot_work():
    assert workdir.DEFAULT == os.path.join(TRAIN, ".work")


def test_set_root_exports_and_paths_follow(tmp_path, monkeypatch):
    monkeypatch.setenv(workdir.ENV, "/ignored/by/flag")
    root = workdir.set_root(str(tmp_path / "w"))
    assert os.environ[workdir.ENV] == root == str(tmp_path / "w")
    assert workdir.path("carry") == str(tmp_path / "w" / "carry")
    assert not os.path.exists(workdir.path("lat"))
    assert os.path.isdir(workdir.path("lat", create=True))
    # the commands' state defaults resolve under it at run time
    a = cli.build_parser().parse_args(["sweep", "--out", "o"])
    assert cli._carry(a) == str(tmp_path / "w" / "carry")
    from qegate_train import e5bin, prepare
    assert e5bin.work_dir() == root
    assert prepare.carry_dir() == str(tmp_path / "w" / "carry")
    assert prepare.carry_dir("org/model") == str(tmp_path / "w" / "carry_org_model")


def test_env_applies_without_flag(tmp_path, monkeypatch):
    monkeypatch.setenv(workdir.ENV, str(tmp_path))
    workdir.set_root(None)
    assert workdir.path("nano") == str(tmp_path / "nano")


def test_no_module_invents_state_paths():
    """Only workdir.py names the work dir; no module writes to /tmp or train/.work itself."""
    pkg = os.path.join(TRAIN, "qegate_train")
    bad = []
    for f in sorted(os.listdir(pkg)):
        if not f.endswith(".py") or f == "workdir.py":
            continue
        src = open(os.path.join(pkg, f), encoding="utf-8").read()
        code = re.sub(r'"""(.|\n)*?"""', "", src)          # docstrings may mention them
        code = "\n".join(l.split("#")[0] for l in code.splitlines())
        for pat in (r"[\"']/tmp", r"\.work[\"'/]", r"QEGATE_WORK", r"gettempdir|mkdtemp"):
            if re.search(pat, code):
                bad.append((f, pat))
    assert not bad, bad


def test_python_m_entry_point():
    env = dict(os.environ, PYTHONPATH=TRAIN)
    r = subprocess.run([sys.executable, "-m", "qegate_train", "--help"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "full-vocab" in r.stdout and "--work-dir" in r.stdout


def _pins(lines):
    return sorted(l.split("#")[0].strip() for l in lines if l.split("#")[0].strip())


def test_pyproject_pins_match_requirements():
    meta = tomllib.load(open(os.path.join(TRAIN, "pyproject.toml"), "rb"))
    proj = meta["project"]
    req = _pins(open(os.path.join(TRAIN, "requirements.txt")))
    assert sorted(proj["dependencies"] + proj["optional-dependencies"]["test"]) == req
    assert proj["scripts"]["qegate-train"] == "qegate_train.cli:main"
    assert proj["requires-python"] == ">=3.11"


def test_editable_install_offline(tmp_path):
    """`pip install -e train --no-deps --no-build-isolation --no-index` into a fresh venv that sees
    this interpreter's packages (setuptools, wheel), then the console script runs."""
    ve = tmp_path / "ve"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(ve)], check=True)
    site = subprocess.run([str(ve / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, "outer.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(ve / "bin" / "python"),
                        "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-e",
                        TRAIN], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(ve / "bin" / "qegate-train"), "--help"], capture_output=True,
                       text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "build-default" in r.stdout
    assert not os.path.exists(os.path.join(TRAIN, "qegate_train.egg-info"))
