"""``dlcore bench conv``: conv2d against PyTorch on DESIGN.md's canonical shapes, forward and
forward+backward (grad_input + grad_weight), both on the same thread count, dlcore and torch
alternating call by call; medians and quartiles of the per-call ratio, GFLOP/s, the algorithm
dlcore chose and its scratch bytes."""
from __future__ import annotations

import time

import numpy as np

# (name, N, C, H, W, K, kernel, stride, padding, dilation, groups)
SHAPES = [
    ("3x3 s1 64", 8, 64, 56, 56, 64, 3, 1, 1, 1, 1),
    ("3x3 s2 64->128", 8, 64, 56, 56, 128, 3, 2, 1, 1, 1),
    ("3x3 d2 64", 8, 64, 56, 56, 64, 3, 1, 2, 2, 1),
    ("3x3 s1 256 14x14", 8, 256, 14, 14, 256, 3, 1, 1, 1, 1),
    ("1x1 64->256", 8, 64, 56, 56, 256, 1, 1, 0, 1, 1),
    ("7x7 s2 stem", 8, 3, 224, 224, 64, 7, 2, 3, 1, 1),
    ("depthwise 3x3 128", 8, 128, 56, 56, 128, 3, 1, 1, 1, 128),
]


def _flops(case, backward):
    _, N, C, H, W, K, k, s, p, d, g = case
    OH = (H + 2 * p - d * (k - 1) - 1) // s + 1
    OW = (W + 2 * p - d * (k - 1) - 1) // s + 1
    f = 2.0 * N * K * OH * OW * (C // g) * k * k
    return f * (3 if backward else 1)


def run_conv_bench(threads=2, rounds=5, plot_path=None, cases=None):
    """Print the table (and save a PNG bar chart of GFLOP/s when plot_path is given); returns rows."""
    import torch

    import dlcore
    from dlcore import _core, ops

    dlcore.set_num_threads(threads)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'case':<20}{'pass':<9}{'dlcore GF/s':>12}{'torch GF/s':>12}{'ratio (q1-q3)':>22}  algorithm      workspace")
    for case in cases or SHAPES:
        name, N, C, H, W, K, k, s, p, d, g = case
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        w = rng.standard_normal((K, C // g, k, k)).astype(np.float32)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        kw = dict(stride=s, padding=p, dilation=d, groups=g)
        y = ops.conv2d(x, w, **kw)
        gy = np.ones_like(y)
        tgy = torch.from_numpy(gy)
        for backward in (False, True):
            if backward:
                def ours():
                    ops.conv2d(x, w, **kw)
                    ops.conv2d_backward(gy, x, w, **kw, output_mask=(True, True, False))

                def theirs():
                    torch.nn.functional.conv2d(tx, tw, None, s, p, d, g)
                    torch.ops.aten.convolution_backward(tgy, tx, tw, None, (s, s), (p, p), (d, d), False, (0, 0), g,
                                                        (True, True, False))
            else:
                def ours():
                    ops.conv2d(x, w, **kw)

                def theirs():
                    torch.nn.functional.conv2d(tx, tw, None, s, p, d, g)
            ours(), theirs()
            with dlcore.kernel_log() as log:
                ours()
            ws = _core.conv_last_workspace_bytes()
            algo = log.records[0].algorithm if log.records else "?"
            t_ours, t_theirs = [], []
            for _ in range(rounds):
                t0 = time.perf_counter()
                ours()
                t1 = time.perf_counter()
                theirs()
                t2 = time.perf_counter()
                t_ours.append(t1 - t0)
                t_theirs.append(t2 - t1)
            ratio = np.array(t_theirs) / np.array(t_ours)  # > 1: dlcore faster
            q1, med, q3 = np.percentile(ratio, [25, 50, 75])
            fl = _flops(case, backward)
            row = dict(case=name, backward=backward, ours=fl / np.median(t_ours) / 1e9,
                       torch=fl / np.median(t_theirs) / 1e9, ratio=med, q1=q1, q3=q3, algorithm=algo, workspace=ws)
            rows.append(row)
            print(f"{name:<20}{'fwd+bwd' if backward else 'fwd':<9}{row['ours']:>12.1f}{row['torch']:>12.1f}"
                  f"{med:>10.2f}x ({q1:.2f}-{q3:.2f})  {algo:<14} {ws / 2**20:.1f} MiB")
    for backward in (False, True):
        r = [row["ratio"] for row in rows if row["backward"] == backward]
        print(f"geomean {'fwd+bwd' if backward else 'fwd'}: {float(np.exp(np.mean(np.log(r)))):.2f}x torch")
    if plot_path:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(10, 4))
        labels = [f"{r['case']} {'fb' if r['backward'] else 'f'}" for r in rows]
        xs = np.arange(len(rows))
        ax.bar(xs - 0.2, [r["ours"] for r in rows], 0.4, label="dlcore")
        ax.bar(xs + 0.2, [r["torch"] for r in rows], 0.4, label="torch")
        ax.set_xticks(xs, labels, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("GFLOP/s")
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot_path)
    return rows
