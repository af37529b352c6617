"""dlcore's CUDA SGEMM against torch.matmul (cuBLAS, TF32 off) on one GPU.

    python -m dlcore.bench.gemm_cuda

Times the kernel with a preallocated output (gemm(a, b, c)); device-wide synchronisation
through torch.cuda.synchronize(), which also waits for dlcore's work on the default stream.
"""
from __future__ import annotations

import sys
import time

import numpy as np

SHAPES = [((256, 256), (256, 256)), ((512, 512), (512, 512)), ((1024, 1024), (1024, 1024)),
          ((2048, 2048), (2048, 2048)), ((4096, 4096), (4096, 4096)), ((4096, 768), (768, 3072)),
          ((1000, 1000), (1000, 1000)), ((32, 128, 64), (32, 64, 128))]


def run_cuda_gemm_bench(repeat: int = 20, file=None):
    import torch

    import dlcore
    from dlcore import ops

    file = file or sys.stdout
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"device: {dlcore.cuda.device_names()}", file=file)
    print(f"{'shape':34s}{'dlcore GF/s':>12s}{'torch GF/s':>12s}{'dl/torch':>10s}{'max rel err':>13s}", file=file)
    rows = []
    for sa, sb in SHAPES:
        r = np.random.default_rng(0)
        a, b = r.standard_normal(sa).astype(np.float32), r.standard_normal(sb).astype(np.float32)
        da, db = dlcore.from_numpy(a).to("cuda"), dlcore.from_numpy(b).to("cuda")
        out_shape = np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
        dc = dlcore.zeros(*out_shape, device="cuda")
        ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
        tc = torch.empty(out_shape, device="cuda")
        ops.gemm(da, db, dc)
        torch.matmul(ta, tb, out=tc)
        torch.cuda.synchronize()
        ref = tc.cpu().numpy()
        got = dc.cpu().numpy()
        err = float(np.max(np.abs(got - ref)) / (np.max(np.abs(ref)) + 1e-30))

        def timed(fn):
            fn()
            torch.cuda.synchronize()
            ts = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn()
                torch.cuda.synchronize()
                ts.append(time.perf_counter() - t)
            return float(np.median(ts))

        t_dl = timed(lambda: ops.gemm(da, db, dc))
        t_th = timed(lambda: torch.matmul(ta, tb, out=tc))
        flops = 2.0 * int(np.prod(out_shape)) * sa[-1]
        name = f"{sa} x {sb}"
        print(f"{name:34s}{flops / t_dl / 1e9:12.0f}{flops / t_th / 1e9:12.0f}{t_th / t_dl:10.2f}{err:13.2e}", file=file)
        rows.append((name, flops / t_dl / 1e9, flops / t_th / 1e9, err))
    return rows


if __name__ == "__main__":
    run_cuda_gemm_bench()
