"""Experiment behind docs/compression.md section 4 (MatMulNBits vs dynamic int8).

Run: python -m qegate_train.experiments nbits_probe
"""
import os, numpy as np, onnx
from .. import workdir
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer, DefaultWeightOnlyQuantConfig
from ..export import ort_session, ort_scores
from ..ship import dev_seqs
from ..bench import latency_ms

from . import MODEL_DIR


def main():
    workdir.path("scripts", create=True)  # scratch of these one-off scripts
    src=workdir.path('ship/default/model_fp32.onnx')
    dv,seqs=dev_seqs(MODEL_DIR)
    sub=[seqs[i] for i in range(0,7000,7)]
    ref=ort_scores(ort_session(src,2),sub,batch=1)
    q8=ort_scores(ort_session(MODEL_DIR + '/model.onnx',2),sub,batch=1)
    print('dyn int8 b1 vs fp32 mean/max',np.abs(q8-ref).mean(),np.abs(q8-ref).max())
    rng=np.random.default_rng(0); lat=[seqs[i] for i in rng.choice(7000,200,replace=False)]
    for bits in (8,4):
        cfg=DefaultWeightOnlyQuantConfig(block_size=32,is_symmetric=True,accuracy_level=4,bits=bits,op_types_to_quantize=("MatMul","Gather"),quant_axes=(("MatMul",0),("Gather",1)))
        q=MatMulNBitsQuantizer(onnx.load(src),algo_config=cfg)
        q.process()
        out=workdir.path('scripts', f'nb{bits}.onnx'); q.model.save_model_to_file(out, use_external_data_format=False)
        s=ort_session(out,2)
        a=ort_scores(s,sub,batch=1); b=ort_scores(s,sub,batch=32)
        print(bits,'size',os.path.getsize(out),'vs fp32 mean/max',np.abs(a-ref).mean(),np.abs(a-ref).max(),'batch dep max',np.abs(a-b).max())
        print(bits, latency_ms(out,lat,1,seconds=8)['median_ms'])
    print('dyn', latency_ms(MODEL_DIR + '/model.onnx',lat,1,seconds=8)['median_ms'])
    print('fp32', latency_ms(src,lat,1,seconds=8)['median_ms'])
