"""The BERT recipe (``dlcore train bert``): pre-train a small BERT on Shakespeare by masked
language modelling + next-sentence prediction, then fine-tune it on two tasks scored on plays whose
labels it never saw, against the same model trained from scratch and a bag-of-words baseline.

1. Corpus and tokenizer: ``bert_data.play_records()``; the 12 plays of ``bert_data.TEST_PLAYS``
   (two per genre) are held out of fine-tuning: their labels serve only for scoring.  With
   ``pretrain_plays="all"`` (the default) their text is unlabelled pre-training text, except each
   one's last tenth, where the held-out MLM curves are measured (pre-training on the text of the
   corpus, as BERT pre-trains on text that includes its downstream domains); with "train" the
   held-out plays are out of pre-training too.  A byte-level BPE tokenizer of ``vocab_size`` ids
   (the last four [PAD] [CLS] [SEP] [MASK]) is trained on the pre-training plays.
2. Pre-training (``pretrain_iters`` steps): batches of NSP pairs (``bert_data.nsp_batch``) with
   BERT's MLM corruption (``bert_data.mask_tokens``); loss = MLM + NSP cross-entropy; AdamW
   (weight decay on matrices), linear warm-up then cosine decay to lr/10, gradient norm clipped
   at 1.  The first ``short_frac`` of the steps use ``short_len``-token pairs (as many more per
   batch as keep the tokens per step; see ``_pretrain_shape`` for why).  Every ``eval_interval``
   steps the MLM loss, its accuracy, the accuracy at the [MASK] inputs (the predictions that need
   context) and the NSP accuracy are measured on fixed batches of held-out text (curves only;
   nothing is selected on them), next to the context-free reference: the training text's unigram
   frequencies scored on the same masked positions.
3. Genre classification: 128-token passages ``[CLS] ... [SEP]`` of the 26 training plays drawn at
   random offsets, genre first (balanced classes), are the labelled data; the model is scored on
   every non-overlapping passage of the 12 held-out plays.  (a) the pre-trained encoder fine-tuned
   with ``BertForSequenceClassification`` (``pooling``: "mean" by default, the mean of the token
   vectors, which MLM trains; the [CLS] vector is trained only by NSP, which this small model does
   not learn on this corpus; the encoder may take its own peak lr, ``encoder_lr``); (b) the
   identical model from a fresh initialisation, with the same batches, steps, head and learning
   rates; (c) scikit-learn: word counts (tf-idf) of non-overlapping passages of the training plays
   and a class-balanced logistic regression (saga).
4. Token tagging: every token of a passage is tagged 1 if its first byte lies on a speaker-name
   line (``HAMLET:``: exactly the corpus's ``**NAME**`` lines), else 0; ``BertForTokenClassification``
   fine-tuned from the pre-trained encoder (and, for reference, from scratch); token-level F1 of
   tag 1 on the held-out passages.

Outputs in ``out_dir``: ``bert_pretrained.safetensors`` (the pre-training model: recipe "bert",
task "pretrain", the config and tokenizer in the metadata), ``bert_genre.safetensors`` and
``bert_tagger.safetensors`` (the fine-tuned models, task and labels in the metadata),
``bert_curves.png``, ``metrics.json`` (the table, config and history).  The last printed line is
``test accuracy X`` (the pre-trained + fine-tuned genre accuracy).
"""
from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np

from .. import _core, optim
from .._info import set_num_threads
from .._random import manual_seed
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from . import bert_data as bd
from .bert import BERT, BertConfig, BertForSequenceClassification, BertForTokenClassification
from .gpt_recipe import lr_at

__all__ = ["train_bert", "load_bert_checkpoint"]


def _t(a):
    return Tensor(_core.as_tensor(np.ascontiguousarray(a)))


class _Data:
    """Tokenised plays, split, and the special ids."""

    def __init__(self, vocab_size, seq_len, root=None, pretrain_plays="all"):
        if pretrain_plays not in ("all", "train"):
            raise ValueError(f"train bert: pretrain_plays must be 'all' or 'train', got {pretrain_plays!r}")
        from ..data import BPETokenizer

        records = bd.play_records(root)
        keys = {r.key for r in records}
        missing = [k for k in bd.TEST_PLAYS if k not in keys]
        if missing:
            raise ValueError(f"train bert: held-out plays {missing} are not in the corpus")
        train = [r for r in records if r.key not in bd.TEST_PLAYS]
        test = [r for r in records if r.key in bd.TEST_PLAYS]
        unlabelled = train if pretrain_plays == "train" else records
        self.tok = BPETokenizer().train([r.text for r in unlabelled], int(vocab_size), special_tokens=list(bd.SPECIALS))
        sp = self.tok.special_tokens
        self.pad, self.cls, self.sep, self.mask = (sp[s] for s in bd.SPECIALS)
        self.specials = [self.pad, self.cls, self.sep, self.mask]
        self.genres = sorted({r.genre for r in records})
        self.seq_len = seq_len

        def encode(rs):
            pairs = [bd.token_tags(self.tok, r.text, r.speaker) for r in rs]
            return [p[0] for p in pairs], [p[1] for p in pairs], [self.genres.index(r.genre) for r in rs]

        self.train_ids, self.train_tags, self.train_genre = encode(train)
        self.test_ids, self.test_tags, self.test_genre = encode(test)
        self.train_keys, self.test_keys = [r.key for r in train], [r.key for r in test]
        self.train_texts = [r.text for r in train]
        if pretrain_plays == "train":
            self.pretrain_ids, self.mlm_eval_ids = self.train_ids, self.test_ids
        else:
            # the held-out plays' labels are never used, their text is unlabelled pre-training text,
            # except each one's last tenth: the held-out MLM curves are measured there
            cut = [len(x) - len(x) // 10 for x in self.test_ids]
            self.pretrain_ids = self.train_ids + [x[:c] for x, c in zip(self.test_ids, cut)]
            self.mlm_eval_ids = [x[c:] for x, c in zip(self.test_ids, cut)]
        for name, ids in (("training", self.train_ids), ("held-out", self.test_ids),
                          ("held-out play's MLM evaluation", self.mlm_eval_ids)):
            if min(len(x) for x in ids) <= seq_len:
                raise ValueError(f"train bert: a {name} text has fewer than seq_len={seq_len} tokens")
        win = [bd.windows(i, t, seq_len, self.cls, self.sep) for i, t in zip(self.test_ids, self.test_tags)]
        self.test_x = np.concatenate([w[0] for w in win])
        self.test_tag_y = np.concatenate([w[1] for w in win])
        self.test_y = np.concatenate([np.full(len(w[0]), g, np.int64) for w, g in zip(win, self.test_genre)])

    def pretrain_batch(self, plays, batch, rng, mask_prob=0.15, seq_len=None):
        ids, types, nsp = bd.nsp_batch(plays, batch, seq_len or self.seq_len, rng, self.cls, self.sep)
        inputs, labels = bd.mask_tokens(ids, rng, self.mask, self.specials, self.tok.vocab_size, mask_prob)
        return inputs, types, labels, nsp

    def labelled_batch(self, batch, rng):
        ids, tags, play = bd.random_windows(self.train_ids, self.train_tags, self.train_genre, batch, self.seq_len,
                                            rng, self.cls, self.sep)
        return ids, tags, np.asarray(self.train_genre, np.int64)[play]


def _schedule(opt, it, lr, iters, warmup):
    """Every group's lr at step it: warm-up then cosine to a tenth of its peak (the group's own
    "peak_lr" where it has one, else lr)."""
    for group in opt.param_groups:
        peak = group.get("peak_lr", lr)
        group["lr"] = lr_at(it, peak, iters, warmup, peak / 10)


def _finetune_groups(model, weight_decay, lr, encoder_lr):
    """AdamW groups of a fine-tuned model: the encoder (``bert.*``) peaks at encoder_lr, the new
    classifier at lr; matrices with weight decay, biases and LayerNorm gains without."""
    groups = []
    for peak, in_encoder in ((encoder_lr, True), (lr, False)):
        ps = [p for n, p in model.named_parameters() if n.startswith("bert.") == in_encoder]
        groups += [{"params": [p for p in ps if p.ndim >= 2], "weight_decay": float(weight_decay), "peak_lr": peak},
                   {"params": [p for p in ps if p.ndim < 2], "weight_decay": 0.0, "peak_lr": peak}]
    return groups


def _progress(total, enabled, desc):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="it")


def _eval_pretrain(model, batches, mask_id):
    """(MLM loss, MLM accuracy, accuracy at the [MASK] inputs, NSP accuracy) on fixed batches, in
    eval mode.  The [MASK] accuracy is the one that needs context: at the 10% of chosen positions
    that keep their token a model can copy its input, and at [MASK] it cannot."""
    model.eval()
    losses, hits, n, mhits, mn, nsp_hits, m = [], 0, 0, 0, 0, 0, 0
    with no_grad():
        for inputs, types, labels, nsp in batches:
            logits, nsp_logits, _ = model(inputs, types, None, labels, None)
            chosen = labels != -100
            target = labels[chosen]
            lg = logits.numpy()
            z = lg - lg.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            losses.append(-logp[np.arange(len(target)), target].mean())
            right = lg.argmax(axis=1) == target
            masked = inputs[chosen] == mask_id
            hits += int(right.sum())
            n += len(target)
            mhits += int(right[masked].sum())
            mn += int(masked.sum())
            nsp_hits += int((nsp_logits.numpy().argmax(axis=1) == nsp).sum())
            m += len(nsp)
    model.train()
    return float(np.mean(losses)), hits / n, mhits / max(mn, 1), nsp_hits / m


def _pretrain_shape(it, iters, batch, seq_len, short_len, short_frac):
    """(sequences, tokens each) of pre-training step `it`: the first ``short_frac`` of the steps
    use ``short_len`` tokens, with as many more sequences as keep the tokens per step (BERT
    pre-trained 90% of its steps at 128 tokens before 512).  Why: while attention is still
    uniform, a [MASK] position's neighbours are 1/T of what it sees; at 128 tokens this small model
    stays for thousands of steps where it predicts [MASK] as the unigram frequencies do (measured:
    2,000 steps, [MASK] accuracy 0.139 against the most frequent token's 0.138), and at 32 it
    learns to attend to its neighbours within a few hundred."""
    if short_len and it < short_frac * iters:
        return batch * seq_len // short_len, short_len
    return batch, seq_len


def _unigram_reference(train_ids, batches, vocab_size):
    """(loss, accuracy) on the MLM labels of `batches` of the context-free predictor: the
    add-one-smoothed token frequencies of the training plays (accuracy: always the most frequent
    token).  A pre-trained model that does not beat it has learnt no use of context."""
    counts = np.bincount(np.concatenate(train_ids), minlength=int(vocab_size)).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    target = np.concatenate([labels[labels != -100] for _, _, labels, _ in batches])
    return float(-logp[target].mean()), float(np.mean(target == counts.argmax()))


def _predict(model, x, batch):
    """Argmax predictions of a fine-tuned model over the rows of x, in eval mode."""
    model.eval()
    out = []
    with no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i:i + batch])[0].numpy().argmax(axis=-1))
    model.train()
    return np.concatenate(out)


def _finetune(model, data, task, iters, batch, lr, encoder_lr, seed, weight_decay, eval_points, say, progress,
              label):
    """Fine-tune `model` on `task` ("genre" or "tags") for iters steps (peak lr of the classifier
    `lr`, of the encoder `encoder_lr`) with batches from a generator seeded by `seed` (so two
    models given the same seed see the same batches)."""
    rng = np.random.default_rng(seed)
    opt = optim.AdamW(_finetune_groups(model, weight_decay, lr, encoder_lr), lr=lr)
    warmup = max(1, iters // 10)
    bar = _progress(iters, progress, f"{task} ({label})")
    history = {"iter": [], "score": []}
    score_fn = _accuracy if task == "genre" else _f1
    for it in range(iters):
        _schedule(opt, it, lr, iters, warmup)
        ids, tags, genre = data.labelled_batch(batch, rng)
        _, loss = model(ids, None, None, genre if task == "genre" else tags)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if bar is not None:
            bar.update(1)
            if it % 10 == 0:
                bar.set_postfix_str(f"loss {loss.item():.4f}")
        if it + 1 in eval_points or it == iters - 1:
            score = score_fn(model, data, batch)
            history["iter"].append(it + 1)
            history["score"].append(score)
            line = f"{task} ({label}) step {it + 1:5d}  loss {loss.item():.4f}  held-out " + \
                   ("accuracy" if task == "genre" else "F1") + f" {score:.4f}"
            bar.write(line) if bar is not None else say(line)
    if bar is not None:
        bar.close()
    return history["score"][-1], history


def _accuracy(model, data, batch):
    return float((_predict(model, data.test_x, 2 * batch) == data.test_y).mean())


def _f1(model, data, batch):
    return bd.f1_score(_predict(model, data.test_x, 2 * batch), data.test_tag_y)


def _bag_of_words(data, seq_len, seed):
    """Held-out accuracy of tf-idf word counts + class-balanced logistic regression trained on
    the non-overlapping passages of the training plays (their text decoded from the ids)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def texts(ids_list, genres):
        xs, ys = [], []
        for ids, g in zip(ids_list, genres):
            w = bd.windows(ids, np.zeros_like(ids), seq_len, data.cls, data.sep)[0][:, 1:-1]
            xs += data.tok.decode_batch(w.tolist())
            ys += [g] * len(w)
        return xs, np.array(ys)

    xtr, ytr = texts(data.train_ids, data.train_genre)
    xte, yte = texts(data.test_ids, data.test_genre)
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2)
    # saga: seconds on sparse tf-idf rows where lbfgs can take minutes next to dlcore's threads
    clf = LogisticRegression(C=10.0, solver="saga", max_iter=300, tol=1e-3, class_weight="balanced",
                             random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning at max_iter is not an error here
        clf.fit(vec.fit_transform(xtr), ytr)
    return float((clf.predict(vec.transform(xte)) == yte).mean())


def _plot(pre, fine, path, unigram):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    ax.plot(pre["iter"], pre["train_loss"], label="train MLM + NSP")
    ax.plot(pre["iter"], pre["heldout_mlm_loss"], label="held-out MLM")
    ax.axhline(unigram[0], color="gray", linestyle="--", label="held-out MLM, unigram (no context)")
    ax.set_xlabel("pre-training step")
    ax.set_ylabel("cross-entropy (nats)")
    ax.legend()
    ax = axes[1]
    ax.plot(pre["iter"], pre["heldout_mlm_acc"], label="held-out MLM accuracy")
    ax.plot(pre["iter"], pre["heldout_mask_acc"], label="held-out MLM accuracy at [MASK] inputs")
    ax.plot(pre["iter"], pre["heldout_nsp_acc"], label="held-out NSP accuracy")
    ax.axhline(unigram[1], color="gray", linestyle="--", label="MLM accuracy, unigram (no context)")
    ax.set_xlabel("pre-training step")
    ax.legend()
    ax = axes[2]
    for name, h in fine.items():
        ax.plot(h["iter"], h["score"], marker="o", label=name)
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel("held-out accuracy / F1")
    ax.legend()
    fig.suptitle("dlcore BERT on Shakespeare")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_bert(vocab_size=2048, hidden=128, layers=2, heads=4, seq_len=128, batch_size=32, pretrain_iters=3000,
               finetune_iters=400, tag_iters=100, lr=1e-3, finetune_lr=1e-3, encoder_lr=None, pooling="mean",
               mask_prob=0.15,
               dropout=0.1, norm_first=False,
               weight_decay=0.01, eval_interval=200, eval_batches=4, seed=0, threads=None, out_dir="runs/bert",
               pretrain_plays="all", short_len=32, short_frac=0.4,
               progress=True, log=print, root=None):
    """Runs the recipe of the module docstring; returns a dict of the results (genre accuracies
    pretrained / scratch / bag_of_words, tagging F1 pretrained / scratch, seconds, history, paths).
    ``mask_prob``: the share of tokens chosen for MLM in pre-training (the held-out MLM curves
    always use BERT's 0.15, so runs with different shares compare); ``finetune_lr``: the peak fine-tuning lr of the new heads (and of the encoder unless
    ``encoder_lr`` is given); ``pooling``: the genre head's "mean" or "cls"; ``pretrain_plays``:
    "all" or "train" (step 1); ``short_len``, ``short_frac``: the sequence-length warm-up (step 2;
    ``short_frac=0`` pre-trains at ``seq_len`` throughout).
    ``root``: a folder of ``<genre>/<play>.md`` instead of the installed corpus (tests)."""
    if short_frac and not 2 * 8 + 3 <= int(short_len) <= seq_len:
        raise ValueError(f"train bert: short_len must be in [19, seq_len={seq_len}], got {short_len}")
    if threads:
        set_num_threads(int(threads))
    say = log or (lambda *_: None)
    start = time.perf_counter()
    manual_seed(seed)
    data = _Data(vocab_size, seq_len, root, pretrain_plays)
    config = BertConfig(vocab_size=data.tok.vocab_size, hidden_size=hidden, num_layers=layers, num_heads=heads,
                        max_position=seq_len, dropout=dropout, norm_first=norm_first, pad_token_id=data.pad)
    n_train = sum(len(x) for x in data.train_ids)
    n_pre = sum(len(x) for x in data.pretrain_ids)
    say(f"corpus: {len(data.train_ids)} labelled plays ({n_train} tokens) for fine-tuning; held out of "
        f"fine-tuning: {', '.join(data.test_keys)} ({len(data.test_x)} passages of {seq_len} tokens); "
        f"pre-training text: {len(data.pretrain_ids)} plays ({n_pre} tokens"
        + (", the held-out plays' without their last tenth)" if pretrain_plays == "all" else ")")
        + f"; BPE vocabulary {data.tok.vocab_size}")
    os.makedirs(out_dir, exist_ok=True)
    meta = {"recipe": "bert", "config": json.dumps(config.to_dict()), "tokenizer": data.tok.to_json()}

    # ---- pre-training ----
    model = BERT(config)
    say(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {layers} layers, "
        f"{hidden} wide, {heads} heads, {'pre' if norm_first else 'post'}-LayerNorm")
    rng = np.random.default_rng(seed)
    eval_rng = np.random.default_rng(seed + 10_000)
    held = [data.pretrain_batch(data.mlm_eval_ids, batch_size, eval_rng) for _ in range(eval_batches)]
    uni_loss, uni_acc = _unigram_reference(data.train_ids, held, data.tok.vocab_size)
    say(f"held-out MLM of the training text's unigram frequencies (no context): loss {uni_loss:.4f}  "
        f"acc {uni_acc:.4f}")
    opt = optim.AdamW(model.param_groups(weight_decay), lr=lr, betas=(0.9, 0.999))
    warmup = max(1, min(100, pretrain_iters // 10))
    pre = {"iter": [], "train_loss": [], "heldout_mlm_loss": [], "heldout_mlm_acc": [], "heldout_mask_acc": [],
           "heldout_nsp_acc": []}
    bar = _progress(pretrain_iters, progress, "pre-train")
    recent = []
    t0 = time.perf_counter()
    for it in range(pretrain_iters):
        _schedule(opt, it, lr, pretrain_iters, warmup)
        rows, length = _pretrain_shape(it, pretrain_iters, batch_size, seq_len, short_len, short_frac)
        inputs, types, labels, nsp = data.pretrain_batch(data.pretrain_ids, rows, rng, mask_prob, length)
        _, _, loss = model(inputs, types, None, labels, nsp)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        recent.append(loss.item())
        if bar is not None:
            bar.update(1)
            if it % 10 == 0:
                rate = batch_size * seq_len * (it + 1) / (time.perf_counter() - t0)
                bar.set_postfix_str(f"loss {recent[-1]:.4f}, {rate:,.0f} tok/s")
        if (it + 1) % eval_interval == 0 or it == pretrain_iters - 1:
            mlm_loss, mlm_acc, mask_acc, nsp_acc = _eval_pretrain(model, held, data.mask)
            for k, v in (("iter", it + 1), ("train_loss", float(np.mean(recent))), ("heldout_mlm_loss", mlm_loss),
                         ("heldout_mlm_acc", mlm_acc), ("heldout_mask_acc", mask_acc), ("heldout_nsp_acc", nsp_acc)):
                pre[k].append(v)
            recent = []
            line = (f"pre-train step {it + 1:5d}  train loss {pre['train_loss'][-1]:.4f}  held-out MLM loss "
                    f"{mlm_loss:.4f}  acc {mlm_acc:.4f} ([MASK] {mask_acc:.4f})  NSP acc {nsp_acc:.4f}")
            bar.write(line) if bar is not None else say(line)
    if bar is not None:
        bar.close()
    pretrain_s = time.perf_counter() - t0
    ckpt_pre = os.path.join(out_dir, "bert_pretrained.safetensors")
    save(model.state_dict(), ckpt_pre, metadata={**meta, "task": "pretrain", "iter": str(pretrain_iters)})

    # ---- fine-tuning: genre (pre-trained vs scratch, same seed -> same batches and head init) ----
    fine, results = {}, {}

    enc_lr = finetune_lr if encoder_lr is None else encoder_lr

    def run(task, pretrained, iters):
        cls = BertForSequenceClassification if task == "genre" else BertForTokenClassification
        kw = {"pooling": pooling} if task == "genre" else {}
        manual_seed(seed + 1)
        num = len(data.genres) if task == "genre" else 2
        m = cls.from_pretrained(model, num, **kw) if pretrained else cls(config, num, **kw)
        label = "pre-trained" if pretrained else "scratch"
        # held-out scores at the middle and the end (each pass over the held-out plays costs time)
        score, hist = _finetune(m, data, task, iters, batch_size, finetune_lr, enc_lr, seed + 2, weight_decay,
                                {max(1, iters // 2)}, say, progress, label)
        fine[f"{task} {label}"] = hist
        return m, score

    t1 = time.perf_counter()
    genre_model, results["genre_pretrained"] = run("genre", True, finetune_iters)
    _, results["genre_scratch"] = run("genre", False, finetune_iters)
    results["genre_bag_of_words"] = _bag_of_words(data, seq_len, seed)
    tagger, results["tags_pretrained"] = run("tags", True, tag_iters)
    _, results["tags_scratch"] = run("tags", False, tag_iters)
    finetune_s = time.perf_counter() - t1

    labels_meta = json.dumps(data.genres)
    ckpt_genre = os.path.join(out_dir, "bert_genre.safetensors")
    save(genre_model.state_dict(), ckpt_genre, metadata={**meta, "task": "genre", "labels": labels_meta,
                                                         "pooling": pooling})
    ckpt_tag = os.path.join(out_dir, "bert_tagger.safetensors")
    save(tagger.state_dict(), ckpt_tag, metadata={**meta, "task": "tags",
                                                  "labels": json.dumps(["other", "speaker line"])})
    curves = os.path.join(out_dir, "bert_curves.png")
    _plot(pre, fine, curves, (uni_loss, uni_acc))
    seconds = time.perf_counter() - start
    majority = float(np.mean(data.test_y == np.bincount(data.test_y).argmax()))
    table = [("genre accuracy (6 classes, held-out plays)", results["genre_pretrained"], results["genre_scratch"],
              results["genre_bag_of_words"]),
             ("speaker-line tagging token F1 (held-out plays)", results["tags_pretrained"], results["tags_scratch"],
              None)]
    say("")
    say(f"{'task':48s}{'pre-trained':>13s}{'scratch':>10s}{'bag-of-words LR':>17s}")
    for name, a, b, c in table:
        say(f"{name:48s}{a:13.4f}{b:10.4f}" + (f"{c:17.4f}" if c is not None else f"{'-':>17s}"))
    say(f"(majority class of the held-out passages: {majority:.4f}; pre-training {pretrain_s:.0f} s, "
        f"fine-tuning {finetune_s:.0f} s, total {seconds:.0f} s)")
    result = {**results, "majority": majority, "unigram_mlm_loss": uni_loss, "unigram_mlm_acc": uni_acc, "seconds": seconds, "pretrain_seconds": pretrain_s,
              "finetune_seconds": finetune_s, "history": {"pretrain": pre, "finetune": fine},
              "checkpoints": [ckpt_pre, ckpt_genre, ckpt_tag], "curves": curves}
    config_all = {"vocab_size": data.tok.vocab_size, "hidden": hidden, "layers": layers, "heads": heads,
                  "seq_len": seq_len, "batch_size": batch_size, "pretrain_iters": pretrain_iters,
                  "finetune_iters": finetune_iters, "tag_iters": tag_iters, "lr": lr, "finetune_lr": finetune_lr,
                  "encoder_lr": enc_lr, "pooling": pooling, "mask_prob": mask_prob,
                  "dropout": dropout, "norm_first": norm_first, "weight_decay": weight_decay,
                  "pretrain_plays": pretrain_plays, "short_len": short_len, "short_frac": short_frac,
                  "eval_interval": eval_interval, "eval_batches": eval_batches, "seed": seed, "threads": threads,
                  "held_out_plays": list(data.test_keys), "genres": data.genres}
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(result | {"config": config_all}, f, indent=1)
    say(f"saved {', '.join(os.path.basename(c) for c in result['checkpoints'])}, bert_curves.png and metrics.json "
        f"in {out_dir}")
    say(f"test accuracy {results['genre_pretrained']:.4f}")
    return result


def load_bert_checkpoint(path):
    """(model in eval mode, tokenizer, metadata) from a ``dlcore train bert`` checkpoint: a BERT
    (task "pretrain"), BertForSequenceClassification ("genre") or BertForTokenClassification
    ("tags")."""
    from ..data import BPETokenizer

    state, meta = load(path, with_metadata=True)
    meta = meta or {}
    if meta.get("recipe") != "bert":
        raise ValueError(f"load_bert_checkpoint: {path} is not a BERT checkpoint (recipe {meta.get('recipe')!r})")
    config = BertConfig.from_dict(json.loads(meta["config"]))
    task = meta.get("task")
    if task == "pretrain":
        model = BERT(config)
    elif task in ("genre", "tags"):
        kw = {"pooling": meta.get("pooling", "cls")} if task == "genre" else {}
        cls = BertForSequenceClassification if task == "genre" else BertForTokenClassification
        model = cls(config, len(json.loads(meta["labels"])), **kw)
    else:
        raise ValueError(f"load_bert_checkpoint: unknown task {task!r} in {path}")
    model.load_state_dict(state)
    model.eval()
    return model, BPETokenizer.from_json(meta["tokenizer"]), meta
