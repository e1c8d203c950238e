"""CPU latency of an ONNX model at batch 1 with ONNX Runtime."""
import time

import numpy as np

from .export import ort_session


def latency_ms(path, seqs, threads=1, warmup=20, reps=None, seconds=20.0):
    """Median / mean ms per call over the given pair sequences, batch 1, cycling through seqs."""
    sess = ort_session(path, threads=threads)
    feeds = [{"input_ids": np.array([s], np.int64), "attention_mask": np.ones((1, len(s)), np.int64)}
             for s in seqs]
    for i in range(warmup):
        sess.run(["scores"], feeds[i % len(feeds)])
    times = []
    t_end = time.perf_counter() + seconds
    i = 0
    while (reps is None and time.perf_counter() < t_end) or (reps is not None and i < reps):
        f = feeds[i % len(feeds)]
        t = time.perf_counter()
        sess.run(["scores"], f)
        times.append((time.perf_counter() - t) * 1000)
        i += 1
    times = np.array(times)
    return {"median_ms": float(np.median(times)), "mean_ms": float(times.mean()),
            "p90_ms": float(np.percentile(times, 90)), "n": int(len(times)), "threads": threads}


def interleaved_latency(paths, seqs, threads=1, seconds=30.0, warmup=10):
    """Median ms per model at batch 1, timing the models round-robin (one call each per round) so
    that background load on a shared machine hits every model alike; ratios stay fair."""
    sess = {k: ort_session(p, threads=threads) for k, p in paths.items()}
    feeds = [{"input_ids": np.array([s], np.int64), "attention_mask": np.ones((1, len(s)), np.int64)}
             for s in seqs]
    for k, s in sess.items():
        for i in range(warmup):
            s.run(["scores"], feeds[i % len(feeds)])
    times = {k: [] for k in sess}
    t_end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < t_end:
        f = feeds[i % len(feeds)]
        for k, s in sess.items():
            t = time.perf_counter()
            s.run(["scores"], f)
            times[k].append((time.perf_counter() - t) * 1000)
        i += 1
    return {k: {"median_ms": float(np.median(v)), "p90_ms": float(np.percentile(v, 90)),
                "n": len(v), "threads": threads} for k, v in times.items()}
