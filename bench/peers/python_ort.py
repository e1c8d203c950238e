"""Peer for `qegate bench`: Python onnxruntime + HF tokenizers on the same model and pairs.

Reads pairs (JSONL: src, mt) and prints one JSON object: batch-1 latency on one
intra-op thread (tokenize and infer timed apart) and batched throughput with one
session of --threads intra-op threads, the way a Python service would deploy it.
The pair encoding is the one of docs/ARCHITECTURE.md (same as the Go scorer).
"""
import argparse
import json
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def vm_hwm_mb():
    """Peak RSS of this process (ru_maxrss would include the parent's, inherited across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def session(path, threads, opt):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                                   "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[opt]
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def assemble(src, mt, max_len, bos, eos):
    budget = max(max_len - 4, 0)
    ls, lm = len(src), len(mt)
    excess = ls + lm - budget
    if excess > 0:
        d = min(excess, abs(ls - lm))
        if ls >= lm:
            ls -= d
        else:
            lm -= d
        excess -= d
        ls -= (excess + 1) // 2
        lm -= excess // 2
    return [bos] + src[:ls] + [eos, eos] + mt[:lm] + [eos]


def feeds(rows, pad):
    seq = max(len(r) for r in rows)
    ids = np.full((len(rows), seq), pad, np.int64)
    mask = np.zeros((len(rows), seq), np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--bos", type=int, default=0)
    ap.add_argument("--pad", type=int, default=1)
    ap.add_argument("--eos", type=int, default=2)
    ap.add_argument("--outputs", type=int, default=3, help="unused (the graph says)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", default="1,32", help="comma-separated batch sizes; pairs_per_s is the best")
    ap.add_argument("--latency-pairs", type=int, default=300)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--opt", choices=["all", "none"], default="all")
    a = ap.parse_args()

    pairs = [json.loads(l) for l in open(a.pairs, encoding="utf-8") if l.strip()]
    tok = Tokenizer.from_file(a.tokenizer)
    out = {"name": "python_ort", "onnxruntime": ort.__version__, "threads": a.threads,
           "batch": a.batch, "graph_optimization": a.opt, "pairs": len(pairs)}

    # Batch 1 on one thread: tokenization and inference timed apart.
    s1 = session(a.model, 1, a.opt)
    lat = pairs[:a.latency_pairs]
    for p in lat[:10]:
        s1.run(None, feeds([assemble(tok.encode(p["src"], add_special_tokens=False).ids,
                                     tok.encode(p["mt"], add_special_tokens=False).ids,
                                     a.max_len, a.bos, a.eos)], a.pad))
    tk, inf = [], []
    for p in lat:
        t0 = time.perf_counter()
        row = assemble(tok.encode(p["src"], add_special_tokens=False).ids,
                       tok.encode(p["mt"], add_special_tokens=False).ids, a.max_len, a.bos, a.eos)
        f = feeds([row], a.pad)
        t1 = time.perf_counter()
        s1.run(None, f)
        t2 = time.perf_counter()
        tk.append((t1 - t0) * 1e3)
        inf.append((t2 - t1) * 1e3)
    tot = np.array(tk) + np.array(inf)
    out.update({"latency_ms_p50_batch1": float(np.median(tot)), "latency_ms_p99_batch1": float(np.percentile(tot, 99)),
                "latency_ms_mean_batch1": float(tot.mean()), "tokenize_ms_mean": float(np.mean(tk)),
                "infer_ms_mean": float(np.mean(inf))})
    del s1

    # Throughput: one session, `threads` intra-op threads, batches in input order.
    s = session(a.model, a.threads, a.opt)

    def run(chunk):
        src = tok.encode_batch([p["src"] for p in chunk], add_special_tokens=False)
        mt = tok.encode_batch([p["mt"] for p in chunk], add_special_tokens=False)
        rows = [assemble(x.ids, y.ids, a.max_len, a.bos, a.eos) for x, y in zip(src, mt)]
        return s.run(None, feeds(rows, a.pad))

    by_batch = {}
    for b in [int(x) for x in a.batch.split(",")]:
        chunks = [pairs[i:i + b] for i in range(0, len(pairs), b)]
        run(chunks[0])
        n, calls = 0, []
        c0 = time.process_time()
        t0 = time.perf_counter()
        while True:
            for c in chunks:
                t = time.perf_counter()
                run(c)
                calls.append((time.perf_counter() - t) * 1e3)
                n += len(c)
            if time.perf_counter() - t0 >= a.min_seconds:
                break
        el = time.perf_counter() - t0
        by_batch[str(b)] = {"pairs_per_s": n / el, "cpu_cores_used": (time.process_time() - c0) / el,
                            "call_ms_p50": float(np.median(calls)),
                            "call_ms_p99": float(np.percentile(calls, 99))}
    best = max(by_batch, key=lambda k: by_batch[k]["pairs_per_s"])
    out.update({"pairs_per_s": by_batch[best]["pairs_per_s"], "best_batch": int(best), "by_batch": by_batch,
                "cpu_cores_used": by_batch[best]["cpu_cores_used"],
                "peak_rss_mb": vm_hwm_mb()})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
