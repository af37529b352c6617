"""The ``dlcore`` subcommands of issue 26 (kept apart from cli.py, which builds the parser and
calls :func:`add_commands`): ``train charrnn`` and ``bench rnn`` (``dlcore generate`` dispatches to
CharRNN checkpoints through dlcore.zoo.generate)."""
from __future__ import annotations

from .cli import _SEED, _THREADS, _POSITIVE_INT, _check_bench, _check_recipe, _number


def _check_train_charrnn(args):
    _check_recipe(args, ["matplotlib"], data_file=True)


def _train_charrnn(args) -> int:
    from .zoo.char_rnn_train import compare_cells, train_charrnn

    kw = dict(layers=args.layers, hidden=args.hidden, embed=args.embed, seq_len=args.seq_len,
              batch_size=args.batch_size, iters=args.iters, lr=args.lr, clip=args.clip, dropout=args.dropout,
              seed=args.seed, threads=args.threads, data=args.data, out_dir=args.out, eval_every=args.eval_every,
              progress=not args.no_progress, log=print, distributed=args.distributed, minutes=args.minutes)
    if args.cell == "all":  # the same budget for rnn, lstm and gru, validation curves in one PNG
        compare_cells(**kw)
    else:
        train_charrnn(cell=args.cell, **kw)
    return 0


def _bench_rnn(args) -> int:
    from .bench.rnn import run_rnn_bench

    run_rnn_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def add_commands(sub, tsub, bsub):
    """dlcore train charrnn and dlcore bench rnn (issue 26)."""
    p = tsub.add_parser("charrnn", help="character-level RNN/LSTM/GRU language model; prints the val loss last")
    p.add_argument("--cell", choices=("rnn", "lstm", "gru", "all"), default="lstm",
                   help="recurrent cell ('all': each with the same budget, validation curves in compare.png)")
    p.add_argument("--layers", type=_POSITIVE_INT, default=2, help="stacked recurrent layers")
    p.add_argument("--hidden", type=_POSITIVE_INT, default=512, help="hidden units per layer")
    p.add_argument("--embed", type=_POSITIVE_INT, default=64, help="character embedding width")
    p.add_argument("--seq-len", type=_POSITIVE_INT, default=100, help="characters per truncated-BPTT window")
    p.add_argument("--batch-size", type=_POSITIVE_INT, default=32, help="parallel streams per step")
    p.add_argument("--iters", type=_POSITIVE_INT, default=2000, help="training steps")
    p.add_argument("--minutes", type=_number(float, 0, low_open=True), default=None,
                   help="wall-clock budget: stop after the step that ends past it (validations included)")
    p.add_argument("--lr", type=_number(float, 0, low_open=True), default=2e-3, help="Adam learning rate")
    p.add_argument("--clip", type=_number(float, 0, low_open=True), default=1.0, help="gradient-norm clipping")
    p.add_argument("--dropout", type=_number(float, 0, 1, high_open=True), default=0.0,
                   help="dropout between recurrent layers")
    p.add_argument("--eval-every", type=_POSITIVE_INT, default=None, help="steps between validation losses "
                   "(default: iters / 20)")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of init, dropout and sampling")
    p.add_argument("--threads", type=_THREADS, default=None, help="dlcore threads (default: OpenMP's)")
    p.add_argument("--data", default=None, help="UTF-8 text file (default: dlcore.data.shakespeare() when present)")
    p.add_argument("--out", default="runs/charrnn", help="folder for checkpoint, curves, metrics and sample")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of mpirun -n P (the batch is split; rank 0 prints and writes)")
    p.set_defaults(func=_train_charrnn, check=_check_train_charrnn)


    p = bsub.add_parser("rnn", help="LSTM/GRU (batch 64, input 256, hidden 512) against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=3, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=2, help="alternating dlcore/torch rounds; medians reported")
    p.set_defaults(func=_bench_rnn, check=_check_bench)
