"""Does ONNX Runtime's MLAS take its AMX int8 path on this CPU? (docs/BENCHMARKS.md, issue 19)

    train/.venv/bin/python bench/amx_probe.py models/default/model.onnx

Linux makes a process ask for the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM, XTILEDATA =
bit 18) before it may execute AMX instructions. MLAS asks once, at platform init, when the CPU
reports AMX-INT8, and then dispatches its u8s8 GEMMs (MatMulIntegerToFloat, QAttention's
projection) to the AMX kernel; otherwise they run on AVX-512 VNNI (or AVX2). So the permission
bit before and after creating a session, plus the kernel's AVX-512 usage stamp of this process
(/proc/self/arch_status: milliseconds since AVX-512 registers were last seen in use; -1 never),
say which path the scores take.
"""
import ctypes
import sys

SYS_ARCH_PRCTL = 158
ARCH_GET_XCOMP_PERM = 0x1022
XTILEDATA = 18


def amx_permitted():
    libc = ctypes.CDLL(None, use_errno=True)
    v = ctypes.c_uint64(0)
    if libc.syscall(SYS_ARCH_PRCTL, ARCH_GET_XCOMP_PERM, ctypes.byref(v)) != 0:
        return None
    return bool(v.value >> XTILEDATA & 1)


def main():
    print("AMX tile state permitted before onnxruntime:", amx_permitted())
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
    ids = np.full((1, 50), 5, np.int64)
    ids[0, 0], ids[0, -1] = 0, 2
    for _ in range(50):
        s.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    print("AMX tile state permitted after a session and 50 runs:", amx_permitted())
    try:
        with open("/proc/self/arch_status") as f:
            print(f.read().strip())
    except OSError as e:
        print("arch_status:", e)


if __name__ == "__main__":
    main()
