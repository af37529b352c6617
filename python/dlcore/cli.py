"""The ``dlcore`` command: ``dlcore info``, ``dlcore bench gemm [--threads N] [--repeat R] [--plot out.png]``."""
from __future__ import annotations

import argparse
import sys


def _info(args) -> int:
    import dlcore

    for k, v in dlcore.info().items():
        print(f"{k}: {v}")
    return 0


def _bench_gemm(args) -> int:
    from .bench.gemm import run_gemm_bench

    run_gemm_bench(threads=args.threads, repeat=args.repeat, plot_path=args.plot)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dlcore", description="dlcore: kernels, info and benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="build and machine information")
    p_info.set_defaults(func=_info)
    p_bench = sub.add_parser("bench", help="compare dlcore with NumPy and PyTorch")
    bsub = p_bench.add_subparsers(dest="family", required=True)
    p_gemm = bsub.add_parser("gemm", help="GEMM on the canonical shapes")
    p_gemm.add_argument("--threads", type=int, default=2, help="threads for every implementation (default 2)")
    p_gemm.add_argument("--repeat", type=int, default=7, help="timed samples per case; the median is reported")
    p_gemm.add_argument("--plot", metavar="PNG", default=None, help="save a bar chart of GFLOP/s")
    p_gemm.set_defaults(func=_bench_gemm)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
