"""The ``dlcore`` command (also ``python -m dlcore``).

    dlcore info                                   build and machine information
    dlcore train mlp [--epochs N --lr LR ...]     the main job: an MLP on the bundled digits
    dlcore train heteroscedastic                  mean and variance heads on a noisy 1-D function
    dlcore bench gemm [--threads N] [--plot PNG]  GEMM against NumPy and PyTorch
    dlcore bench train [--threads N]              one training step against PyTorch
    dlcore bench attention [--threads N] [--long] fused attention against torch's SDPA
    dlcore --version

Every subcommand checks its arguments (ranges, a writable ``--out``, the folder of ``--plot``) and
the optional packages it needs before it starts any work, and reports a problem as one line
``dlcore: error: ...`` naming the flag or the install command, with exit status 2.  An error
during the work itself is one such line too, with exit status 1 (``DLCORE_DEBUG=1`` shows the
traceback instead).
"""
from __future__ import annotations

import argparse
import os
import sys

from ._extras import PIP_NAMES, install_hint, missing


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse's default prints the usage first) and defaults in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"dlcore: error: {message} (see: {self.prog} --help)\n")


class _UsageError(Exception):
    """A bad argument or a missing package found before the work starts (exit status 2)."""


def _number(kind, low=None, high=None, low_open=False, high_open=False):
    """An argparse type: `kind` (int or float) within [low, high] (bounds open where asked)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if value != value or (low is not None and (value <= low if low_open else value < low)) or \
                (high is not None and (value >= high if high_open else value > high)):
            lo = "" if low is None else f"{'(' if low_open else '['}{low}"
            hi = "" if high is None else f"{high}{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"must be in {lo or '(-inf'}, {hi or 'inf)'}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


_POSITIVE_INT = _number(int, 1)
_SEED = _number(int, 0, 2 ** 63 - 1)
_THREADS = _number(int, 1, 4096)


def _writable_folder(flag, path):
    """Raise _UsageError unless `path` is, or can be created as, a folder this process may write."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise _UsageError(f"{flag} {path}: exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise _UsageError(f"{flag} {path}: folder is not writable")
        return
    parent = os.path.dirname(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise _UsageError(f"{flag} {path}: cannot create it ({parent} is not a writable folder)")


def _writable_file(flag, path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise _UsageError(f"{flag} {path}: folder {folder} does not exist or is not writable")
    if os.path.isdir(path):
        raise _UsageError(f"{flag} {path}: is a folder, expected a file name")


def _need(command, modules, extra, notes=None):
    """Raise _UsageError naming every missing package of `modules` (notes: {module: why, appended})."""
    gone = missing(modules)
    if gone:
        names = ", ".join(PIP_NAMES.get(m, m) + (notes or {}).get(m, "") for m in gone)
        raise _UsageError(f"'{command}' needs {names}; install with: {install_hint(gone, extra)}")


# ---- subcommands: check(args) runs before any work, run(args) does it ----------------------------
def _info(args) -> int:
    import dlcore

    for k, v in dlcore.info().items():
        print(f"{k}: {v}")
    return 0


def _check_train_mlp(args):
    _writable_folder("--out", args.out)
    _need("dlcore train mlp", ["sklearn", "matplotlib"] + ([] if args.no_progress else ["tqdm"]), "zoo",
          notes={"tqdm": " (for the progress bar; or pass --no-progress)"})


def _train_mlp(args) -> int:
    from .zoo import train_digits_mlp

    hidden = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    # The recipe prints the per-epoch lines, where it saved, and the headline metric last.
    train_digits_mlp(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size,
                     hidden=hidden, dropout=args.dropout, patience=args.patience, seed=args.seed,
                     out_dir=args.out, progress=not args.no_progress, log=print)
    return 0


def _train_heteroscedastic(args) -> int:
    from .zoo import train_heteroscedastic

    r = train_heteroscedastic(epochs=args.epochs, seed=args.seed, log=print)
    print(f"on a grid over [-2.8, 2.8]: mean abs error of the mean {r['mean_abs_error']:.4f}, of the standard "
          f"deviation {r['std_abs_error']:.4f}")
    print(f"final nll {r['nll']:.4f}")
    return 0


def _check_bench(args):
    if getattr(args, "plot", None):
        _writable_file("--plot", args.plot)
        _need(f"dlcore bench {args.family} --plot", ["matplotlib"], "bench")


def _bench_gemm(args) -> int:
    from .bench.gemm import run_gemm_bench

    run_gemm_bench(threads=args.threads, repeat=args.repeat, plot_path=args.plot, rounds=args.rounds)
    return 0


def _bench_train(args) -> int:
    from .bench.train import run_train_bench

    run_train_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def _bench_attention(args) -> int:
    from .bench.attention import run_attention_bench

    run_attention_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds, long=args.long)
    return 0


def _build_parser() -> _Parser:
    from . import __version__

    parser = _Parser(prog="dlcore", description="dlcore: kernels, training, info and benchmarks")
    parser.add_argument("--version", action="version", version=f"dlcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{info,train,bench}")
    sub.add_parser("info", help="build and machine information").set_defaults(func=_info)

    p_train = sub.add_parser("train", help="train a zoo model on bundled data")
    tsub = p_train.add_subparsers(dest="model", required=True, metavar="{mlp,heteroscedastic}")
    p = tsub.add_parser("mlp", help="MLP on scikit-learn's 8x8 digits; prints the test accuracy last")
    p.add_argument("--epochs", type=_POSITIVE_INT, default=60, help="most epochs (early stopping may end sooner)")
    p.add_argument("--lr", type=_number(float, 0, low_open=True), default=1e-3,
                   help="AdamW learning rate (cosine schedule)")
    p.add_argument("--weight-decay", type=_number(float, 0), default=1e-2, help="AdamW's decoupled weight decay")
    p.add_argument("--batch-size", type=_POSITIVE_INT, default=32, help="samples per step")
    p.add_argument("--hidden", type=_POSITIVE_INT, nargs="+", default=[1024], help="hidden widths (several: a deep MLP)")
    p.add_argument("--dropout", type=_number(float, 0, 1, high_open=True), default=0.3, help="dropout after each hidden layer")
    p.add_argument("--patience", type=_POSITIVE_INT, default=15, help="early stopping: epochs without a better val loss")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of init, dropout and shuffling")
    p.add_argument("--out", default="runs/mlp", help="folder for the best weights (safetensors) and the curves (PNG)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train_mlp, check=_check_train_mlp)
    p = tsub.add_parser("heteroscedastic", help="mean and variance heads, Gaussian NLL, on a noisy sine")
    p.add_argument("--epochs", type=_POSITIVE_INT, default=300, help="epochs of Adam")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the data, init and shuffling")
    p.set_defaults(func=_train_heteroscedastic)

    p_bench = sub.add_parser("bench", help="compare dlcore with NumPy and PyTorch")
    bsub = p_bench.add_subparsers(dest="family", required=True, metavar="{gemm,train,attention}")
    p = bsub.add_parser("gemm", help="GEMM on the canonical shapes")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=7, help="timed samples per case; the median is reported")
    p.add_argument("--plot", metavar="PNG", default=None, help="save a bar chart of GFLOP/s")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating rounds over the libraries; medians reported")
    p.set_defaults(func=_bench_gemm, check=_check_bench)
    p = bsub.add_parser("train", help="one MLP training step (forward, backward, AdamW) against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=5, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.set_defaults(func=_bench_train, check=_check_bench)
    p = bsub.add_parser("attention", help="fused scaled_dot_product_attention against torch's, forward and backward")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=3, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.add_argument("--long", action="store_true", help="also the 1x8x16384x64 causal case (minutes)")
    p.set_defaults(func=_bench_attention, check=_check_bench)
    return parser


def main(argv=None) -> int:
    """Run the ``dlcore`` command with `argv` (default: sys.argv[1:]); returns the exit status
    (0 success, 1 an error during the work, 2 a bad argument or a missing package).  argparse's
    own outcomes (--help, --version, a bad flag) raise SystemExit as usual."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    debug = os.environ.get("DLCORE_DEBUG", "") not in ("", "0")
    try:
        if getattr(args, "check", None) is not None:
            args.check(args)
    except _UsageError as e:
        print(f"dlcore: error: {e}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("dlcore: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, IndexError, KeyError, MemoryError, RuntimeError, OSError, ImportError) as e:
        if debug:
            raise
        print(f"dlcore: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
