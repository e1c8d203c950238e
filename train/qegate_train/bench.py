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
