"""docs/compression.md tables and plots from the sweep results (<work dir>/runs), the latency
sweep (<work dir>/lat/sweep.json) and the shipped model (models/default/model.json)."""
import glob
import json
import os

import numpy as np

from . import data
from .metrics import cols_from_scores, evaluate


def load_runs(d):
    runs = {}
    dv = data.load("dev")
    lp = np.array(dv.lp)
    for f in sorted(glob.glob(os.path.join(d, "res_*.json"))):
        r = json.load(open(f))
        pred = np.load(os.path.join(d, f"pred_{r['name']}.npy"))
        m = np.ones(len(lp), bool) if not r["cfg"].get("pairs") else np.isin(lp, r["cfg"]["pairs"])
        met, _ = evaluate(lp[m], dv.mean[m], dv.z[m], cols_from_scores(pred, r["kinds"]))
        r["metrics"] = met  # recomputed from the saved predictions
        runs[r["name"]] = r
    return runs


def pct(a, b):
    return 100.0 * (a - b) / b


def fmt(x, n=3):
    return "–" if x is None else f"{x:.{n}f}"


def make(runs_dir, lat_json, model_dir, out_md, fig_dir, log=print):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = load_runs(runs_dir)
    lat = json.load(open(lat_json))
    ms = lat["ms"]
    shipped = json.load(open(os.path.join(model_dir, "model.json")))
    os.makedirs(fig_dir, exist_ok=True)
    ref = runs["multi_L12"]["metrics"]["avg"]
    base_fp32 = {t: ms[f"L12_fp32_t{t}"] for t in (1, 2)}
    base_int8 = {t: ms[f"L12_int8_t{t}"] for t in (1, 2)}
    lines = []
    P = lines.append

    # ---- pruning sweep
    P("### Pruning sweep (multi-output, multilingual)\n")
    P("| run | layers | Pearson | Spearman | F1@51 | macro-F1@51 | F1@70 | macro-F1@70 | "
      "F1@51 (reg) | F1@70 (reg) | int8 ms (1 thr / 2 thr) | speedup vs L12 fp32 (1 / 2 thr) | "
      "speedup vs L12 int8 (1 thr) | ΔPearson | ΔF1@51 | ΔF1@70 |")
    P("|" + "---|" * 16)
    sweep = [n for n in ["multi_L12", "multi_L8", "multi_L6", "multi_L4", "multi_L4_kd",
                         "multi_L4_lr1e-4", "multi_L3", "multi_L2"] if n in runs]
    pts = []
    for n in sweep:
        r = runs[n]; a = r["metrics"]["avg"]; l = r["cfg"]["layers"]
        i1, i2 = ms.get(f"L{l}_int8_t1"), ms.get(f"L{l}_int8_t2")
        s1, s2 = base_fp32[1] / i1, base_fp32[2] / i2
        P(f"| {n} | {l} | {fmt(a['pearson'])} | {fmt(a['spearman'])} | {fmt(a['da51_f1'])} | "
          f"{fmt(a['da51_macro_f1'])} | {fmt(a['da70_f1'])} | {fmt(a['da70_macro_f1'])} | "
          f"{fmt(a['z@51_f1'])} | {fmt(a['z@70_f1'])} | {i1:.2f} / {i2:.2f} | {s1:.1f}x / {s2:.1f}x | "
          f"{base_int8[1] / i1:.1f}x | {pct(a['pearson'], ref['pearson']):+.1f}% | "
          f"{pct(a['da51_f1'], ref['da51_f1']):+.1f}% | {pct(a['da70_f1'], ref['da70_f1']):+.1f}% |")
        pts.append((n, l, s1, a))
    P("")
    # plot 1: degradation vs speedup
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for n, l, s, a in pts:
        if n.endswith(("_kd", "lr1e-4")):
            continue
        ax[0].scatter(s, pct(a["pearson"], ref["pearson"]), c="C0")
        ax[0].annotate(f"L{l}", (s, pct(a["pearson"], ref["pearson"])))
        for k, c in (("da51_f1", "C1"), ("da70_f1", "C2")):
            ax[1].scatter(s, pct(a[k], ref[k]), c=c, label=k if l == 4 else None)
            ax[1].annotate(f"L{l}", (s, pct(a[k], ref[k])))
    ax[0].set(title="Regression: Pearson vs z_mean", xlabel="speedup vs 12-layer fp32 (1 thread)",
              ylabel="% change vs 12-layer")
    ax[1].set(title="Classification: F1 of acceptable class",
              xlabel="speedup vs 12-layer fp32 (1 thread)", ylabel="% change vs 12-layer")
    ax[1].legend()
    for x in ax:
        x.axhline(0, c="grey", lw=0.5); x.grid(alpha=0.3)
    fig.tight_layout(); fig.savefig(os.path.join(fig_dir, "degradation_vs_speedup.png"), dpi=110)
    plt.close(fig)
    # plot 2: regression vs classification F1 per pruning level
    fig, ax = plt.subplots(figsize=(6, 4))
    lv = sorted([(l, a) for n, l, s, a in pts if not n.endswith(("_kd", "lr1e-4"))])
    xs = [l for l, _ in lv]
    for k, lab, st in (("da51_f1", "classifier >=51", "o-"), ("z@51_f1", "thresholded z >=51", "o--"),
                       ("da70_f1", "classifier >=70", "s-"), ("z@70_f1", "thresholded z >=70", "s--")):
        ax.plot(xs, [a[k] for _, a in lv], st, label=lab)
    for n, k, mk in (("cls51_L4", "da51_f1", "^"), ("reg_L4", "z@51_f1", "v"),
                     ("cls70_L4", "da70_f1", "^"), ("reg_L4", "z@70_f1", "v")):
        if n in runs:
            ax.scatter([4], [runs[n]["metrics"]["avg"][k]], marker=mk, c="k", zorder=5)
    ax.set(xlabel="encoder layers kept", ylabel="F1 (acceptable), dev avg of 7 pairs",
           title="Regression vs classification heads (black: single-task L4)")
    ax.grid(alpha=0.3); ax.legend(fontsize=8)
    fig.tight_layout(); fig.savefig(os.path.join(fig_dir, "reg_vs_cls.png"), dpi=110)
    plt.close(fig)

    # ---- single-task vs multi-output
    P("### Single-task vs multi-output heads (4 layers, multilingual)\n")
    P("| run | Pearson | F1@51 | macro-F1@51 | F1@70 | macro-F1@70 | F1@51 (reg) | F1@70 (reg) |")
    P("|---|---|---|---|---|---|---|---|")
    for n in ["multi_L4", "reg_L4", "cls51_L4", "cls70_L4", "multi_L12", "reg_L12", "cls51_L12",
              "cls70_L12"]:
        if n not in runs:
            continue
        a = runs[n]["metrics"]["avg"]
        P(f"| {n} | {fmt(a.get('pearson'))} | {fmt(a.get('da51_f1'))} | "
          f"{fmt(a.get('da51_macro_f1'))} | {fmt(a.get('da70_f1'))} | {fmt(a.get('da70_macro_f1'))} | "
          f"{fmt(a.get('z@51_f1'))} | {fmt(a.get('z@70_f1'))} |")
    P("")
    # ---- bilingual vs multilingual
    P("### Bilingual vs multilingual (4 layers, multi-output; same pair's dev set)\n")
    P("| pair | Pearson bi | Pearson multi | F1@51 bi | F1@51 multi | F1@70 bi | F1@70 multi |")
    P("|---|---|---|---|---|---|---|")
    bis = [(n, runs[n]["cfg"]["pairs"][0]) for n in runs if n.startswith("bi_")]
    mm = runs["multi_L4"]["metrics"]["per_pair"]
    rows = []
    for n, p in sorted(bis, key=lambda x: x[1]):
        b = runs[n]["metrics"]["per_pair"][p]
        rows.append((p, b, mm[p]))
        P(f"| {p} | {fmt(b['pearson'])} | {fmt(mm[p]['pearson'])} | {fmt(b['da51_f1'])} | "
          f"{fmt(mm[p]['da51_f1'])} | {fmt(b['da70_f1'])} | {fmt(mm[p]['da70_f1'])} |")
    P("")
    if rows:
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
        x = np.arange(len(rows))
        for j, k in enumerate(("pearson", "da51_f1", "da70_f1")):
            ax[j].bar(x - 0.2, [b[k] for _, b, _ in rows], 0.4, label="bilingual")
            ax[j].bar(x + 0.2, [m[k] for _, _, m in rows], 0.4, label="multilingual")
            ax[j].set_xticks(x, [p for p, _, _ in rows]); ax[j].set_title(k)
        ax[0].legend()
        fig.tight_layout(); fig.savefig(os.path.join(fig_dir, "multi_vs_bi.png"), dpi=110)
        plt.close(fig)
    # ---- shipped model per pair
    sm = shipped["metrics"]
    P("### Shipped model per pair (ONNX int8, dev)\n")
    P("| pair | Pearson | Spearman | F1@51 | macro-F1@51 | P@51 | R@51 | F1@70 | macro-F1@70 | "
      "P@70 | R@70 | F1@51 (reg) | F1@70 (reg) |")
    P("|" + "---|" * 13)
    for p, a in list(sm["per_pair"].items()) + [("**avg**", sm["onnx_int8"])]:
        P(f"| {p} | {fmt(a['pearson'])} | {fmt(a['spearman'])} | {fmt(a['da51_f1'])} | "
          f"{fmt(a['da51_macro_f1'])} | {fmt(a['da51_precision'])} | {fmt(a['da51_recall'])} | "
          f"{fmt(a['da70_f1'])} | {fmt(a['da70_macro_f1'])} | {fmt(a['da70_precision'])} | "
          f"{fmt(a['da70_recall'])} | {fmt(a['z@51_f1'])} | {fmt(a['z@70_f1'])} |")
    P("")
    with open(out_md, "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"wrote {out_md}")
    return runs
