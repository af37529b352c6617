"""The ``dlcore`` command.

    dlcore info                                   build and machine information
    dlcore train mlp [--epochs N --lr LR ...]     the main job: an MLP on the bundled digits
    dlcore train heteroscedastic                  mean and variance heads on a noisy 1-D function
    dlcore bench gemm [--threads N] [--plot PNG]  GEMM against NumPy and PyTorch
    dlcore bench train [--threads N]              one training step against PyTorch
"""
from __future__ import annotations

import argparse
import sys


def _info(args) -> int:
    import dlcore

    for k, v in dlcore.info().items():
        print(f"{k}: {v}")
    return 0


def _train_mlp(args) -> int:
    from .zoo import train_digits_mlp

    result = train_digits_mlp(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                              batch_size=args.batch_size, hidden=args.hidden, dropout=args.dropout,
                              patience=args.patience, seed=args.seed, out_dir=args.out,
                              progress=not args.no_progress)
    print(f"saved {result['weights']} and {result['curves']}")
    print(f"test accuracy: {result['test_accuracy']:.4f}")
    return 0


def _train_heteroscedastic(args) -> int:
    from .zoo import train_heteroscedastic

    r = train_heteroscedastic(epochs=args.epochs, seed=args.seed, log=print)
    print(f"final nll {r['nll']:.4f}; on a grid over [-2.8, 2.8]: mean abs error of the mean "
          f"{r['mean_abs_error']:.4f}, of the standard deviation {r['std_abs_error']:.4f}")
    return 0


def _bench_gemm(args) -> int:
    from .bench.gemm import run_gemm_bench

    run_gemm_bench(threads=args.threads, repeat=args.repeat, plot_path=args.plot, rounds=args.rounds)
    return 0


def _bench_train(args) -> int:
    from .bench.train import run_train_bench

    run_train_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dlcore", description="dlcore: kernels, training, info and benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="build and machine information")
    p_info.set_defaults(func=_info)

    p_train = sub.add_parser("train", help="train a zoo model on bundled data")
    tsub = p_train.add_subparsers(dest="model", required=True)
    p_mlp = tsub.add_parser("mlp", help="MLP on scikit-learn's 8x8 digits; prints the test accuracy")
    p_mlp.add_argument("--epochs", type=int, default=60)
    p_mlp.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (cosine schedule)")
    p_mlp.add_argument("--weight-decay", type=float, default=1e-2)
    p_mlp.add_argument("--batch-size", type=int, default=32)
    p_mlp.add_argument("--hidden", type=int, nargs="+", default=[1024], help="hidden widths (several: a deep MLP)")
    p_mlp.add_argument("--dropout", type=float, default=0.3)
    p_mlp.add_argument("--patience", type=int, default=15, help="early stopping: epochs without a better val loss")
    p_mlp.add_argument("--seed", type=int, default=0)
    p_mlp.add_argument("--out", default="runs/mlp", help="folder for the best weights and the curves (PNG)")
    p_mlp.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_mlp.set_defaults(func=_train_mlp)
    p_het = tsub.add_parser("heteroscedastic", help="mean and variance heads, Gaussian NLL, on a noisy sine")
    p_het.add_argument("--epochs", type=int, default=300)
    p_het.add_argument("--seed", type=int, default=0)
    p_het.set_defaults(func=_train_heteroscedastic)

    p_bench = sub.add_parser("bench", help="compare dlcore with NumPy and PyTorch")
    bsub = p_bench.add_subparsers(dest="family", required=True)
    p_gemm = bsub.add_parser("gemm", help="GEMM on the canonical shapes")
    p_gemm.add_argument("--threads", type=int, default=2, help="threads for every implementation (default 2)")
    p_gemm.add_argument("--repeat", type=int, default=7, help="timed samples per case; the median is reported")
    p_gemm.add_argument("--plot", metavar="PNG", default=None, help="save a bar chart of GFLOP/s")
    p_gemm.add_argument("--rounds", type=int, default=3, help="alternating rounds over the libraries; medians reported")
    p_gemm.set_defaults(func=_bench_gemm)
    p_btrain = bsub.add_parser("train", help="one MLP training step (forward, backward, AdamW) against PyTorch")
    p_btrain.add_argument("--threads", type=int, default=2)
    p_btrain.add_argument("--repeat", type=int, default=5, help="timed samples per case and round")
    p_btrain.add_argument("--rounds", type=int, default=3, help="alternating dlcore/torch rounds; medians reported")
    p_btrain.set_defaults(func=_bench_train)
    args = parser.parse_args(argv)
    if getattr(args, "hidden", None) is not None and len(args.hidden) == 1:
        args.hidden = args.hidden[0]
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
