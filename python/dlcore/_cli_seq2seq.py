"""The ``dlcore`` subcommands of issue 19's encoder-decoder half (kept apart from cli.py, which
builds the parser and calls :func:`add_commands`): ``train seq2seq`` (numbers to words),
``translate CHECKPOINT NUMBER...`` and ``bench seq2seq``."""
from __future__ import annotations

from .cli import _POSITIVE_INT, _SEED, _THREADS, _UsageError, _check_bench, _check_recipe, _number
from .cli import _check_generate as _check_translate  # the same check: the CHECKPOINT file exists


def _check_train_seq2seq(args):
    _check_recipe(args, ["matplotlib"])
    if args.d_model % args.heads:
        raise _UsageError(f"--heads {args.heads} must divide --d-model {args.d_model}")


def _train_seq2seq(args) -> int:
    from .zoo.seq2seq_recipe import train_seq2seq

    train_seq2seq(steps=args.steps, batch_size=args.batch_size, lr=args.lr, d_model=args.d_model, heads=args.heads,
                  layers=args.layers, ff=args.ff, dropout=args.dropout, label_smoothing=args.label_smoothing,
                  share_embeddings=args.share_embeddings, eval_interval=args.eval_interval, n_test=args.n_test,
                  beam_width=args.beam_width, length_penalty=args.length_penalty, seed=args.seed,
                  threads=args.threads, out_dir=args.out, progress=not args.no_progress, log=print)
    return 0


def _translate(args) -> int:
    from .zoo.seq2seq_recipe import translate

    words = translate(args.checkpoint, args.numbers, beam_width=args.beam_width, length_penalty=args.length_penalty,
                      greedy=args.greedy)
    for number, text in zip(args.numbers, words):
        print(text if len(args.numbers) == 1 else f"{number}: {text}")
    return 0


def _bench_seq2seq(args) -> int:
    from .bench.seq2seq import run_seq2seq_bench

    run_seq2seq_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def add_commands(sub, tsub, bsub):
    """dlcore train seq2seq, dlcore translate and dlcore bench seq2seq (issue 19)."""
    p = tsub.add_parser("seq2seq", help="encoder-decoder Transformer, numbers to English words; prints the test "
                                        "beam-search exact match last")
    p.add_argument("--steps", type=_POSITIVE_INT, default=1200, help="optimizer steps (fresh pairs every batch)")
    p.add_argument("--batch-size", type=_POSITIVE_INT, default=128, help="pairs per step")
    p.add_argument("--lr", type=_number(float, 0, low_open=True), default=1e-3,
                   help="peak AdamW learning rate (warm-up, cosine decay to lr/10)")
    p.add_argument("--d-model", type=_POSITIVE_INT, default=128, help="model width")
    p.add_argument("--heads", type=_POSITIVE_INT, default=4, help="attention heads (must divide --d-model)")
    p.add_argument("--layers", type=_POSITIVE_INT, default=3, help="encoder layers and decoder layers (each)")
    p.add_argument("--ff", type=_POSITIVE_INT, default=512, help="feed-forward width")
    p.add_argument("--dropout", type=_number(float, 0, 1, high_open=True), default=0.1, help="dropout")
    p.add_argument("--label-smoothing", type=_number(float, 0, 1, high_open=True), default=0.1,
                   help="label smoothing of the cross-entropy")
    p.add_argument("--share-embeddings", action="store_true", help="one embedding table for source and target")
    p.add_argument("--eval-interval", type=_POSITIVE_INT, default=300, help="steps between validations")
    p.add_argument("--n-test", type=_number(int, 9), default=2000, help="held-out test numbers (about; distinct)")
    p.add_argument("--beam-width", type=_POSITIVE_INT, default=4, help="beam width of the final test decoding")
    p.add_argument("--length-penalty", type=_number(float, -10, 10), default=1.0,
                   help="beam score = log p / length ** penalty")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of init, dropout and the training pairs")
    p.add_argument("--threads", type=_THREADS, default=1,
                   help="dlcore threads (small kernels: a second thread gains little, and on a shared machine costs)")
    p.add_argument("--out", default="runs/seq2seq", help="folder for the checkpoint, curves, metrics and samples")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train_seq2seq, check=_check_train_seq2seq)

    p = sub.add_parser("translate", help="numbers to English words with a dlcore train seq2seq checkpoint")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a seq2seq.safetensors written by dlcore train seq2seq")
    p.add_argument("numbers", metavar="NUMBER", nargs="+", help="integers 0..999,999,999 written as digits")
    p.add_argument("--beam-width", type=_POSITIVE_INT, default=4, help="beam width")
    p.add_argument("--length-penalty", type=_number(float, -10, 10), default=1.0,
                   help="beam score = log p / length ** penalty")
    p.add_argument("--greedy", action="store_true", help="greedy decoding instead of beam search")
    p.set_defaults(func=_translate, check=_check_translate)

    p = bsub.add_parser("seq2seq", help="seq2seq Transformer training step and greedy decoding against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=3, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.set_defaults(func=_bench_seq2seq, check=_check_bench)
