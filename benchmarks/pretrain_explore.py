"""Which self-supervised pretraining helps the IMDB BiLSTM most per CPU-minute?

One run = one variant: the default classifier (Word2Vec + 2-layer BiLSTM,
max+mean pooling), optionally pretrained without labels on the training
texts first, then fine-tuned; test accuracy alone and fused with NBSVM 1-3
(the fusion weight fitted on validation). NBSVM's validation/test
probabilities are cached in --cache so each variant only pays for its own
network.

    python benchmarks/pretrain_explore.py --objective mlm --pretrain-epochs 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import log, write_json_atomic  # noqa: E402  (benchmarks/ is on sys.path)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objective", default="none", choices=["none", "mlm", "lm"])
    ap.add_argument("--pretrain-epochs", type=int, default=3)
    ap.add_argument("--pretrain-lr", type=float, default=2e-3)
    ap.add_argument("--mask", type=float, default=0.15)
    ap.add_argument("--negatives", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", default="float32")
    ap.add_argument("--cache", default="/tmp/pretrain_cache")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
    from rnnlab.data import load_dataset, train_val_split
    from rnnlab.models import SequenceClassifier
    from rnnlab.tasks.classify import classification_step, embedding_step, truncate
    from rnnlab.text import Vocab
    from rnnlab.text.tokenizers import make_tokenizer
    from rnnlab.training import fit, seed_everything, set_threads
    from rnnlab.training.batching import padded_batches

    t_start = time.perf_counter()
    seed_everything(0)
    set_threads(args.threads)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    ds = load_dataset(str(DATA), split="train")
    test = load_dataset(str(DATA), split="test")
    if args.limit:
        rng = np.random.default_rng(0)
        ds = ds.subset(rng.permutation(len(ds))[: args.limit].tolist())
        test = test.subset(rng.permutation(len(test))[: args.limit].tolist())
    tr, va = train_val_split(ds, 0.1, 0)
    text = TextConfig()
    tok = make_tokenizer(text).fit(tr.texts)
    tr_tokens = tok.batch(tr.texts)
    vocab = Vocab.build(tr_tokens, max_size=text.max_vocab, min_freq=text.min_freq)
    all_tokens = tr_tokens + tok.batch(va.texts)
    w2v_file = cache / f"w2v_{args.limit}.npy"
    if w2v_file.exists():
        matrix = np.load(w2v_file)
    else:
        matrix, _, _, _ = embedding_step(EmbeddingConfig(), tr_tokens, vocab, 0, log)
        np.save(w2v_file, matrix)
    tr_seqs = [truncate(vocab.encode(t), text) for t in tr_tokens]
    va_seqs = [truncate(vocab.encode(t), text) for t in all_tokens[len(tr_tokens) :]]
    te_seqs = [truncate(vocab.encode(t), text) for t in tok.batch(test.texts)]
    log(f"data ready {time.perf_counter() - t_start:.0f} s")

    # NBSVM 1-3 probabilities (cached)
    nb_file = cache / f"nbsvm_{args.limit}.npz"
    if nb_file.exists():
        nb = np.load(nb_file)
        nb_val, nb_test = nb["val"], nb["test"]
    else:
        from rnnlab.models.linear import LinearConfig
        from rnnlab.tasks.linear import LinearClassifier

        t0 = time.perf_counter()
        cfg = LinearConfig(ngram_range=(1, 3), max_features=0).resolve("nbsvm")
        clf = LinearClassifier.fit("nbsvm", tr.texts, tr.labels, ds.label_names, cfg, seed=0)
        nb_val = clf.decision_function(va.texts).reshape(len(va), -1)[:, -1]
        nb_test = clf.decision_function(test.texts).reshape(len(test), -1)[:, -1]
        np.savez(nb_file, val=nb_val, test=nb_test)
        log(f"nbsvm {time.perf_counter() - t0:.0f} s")

    model_cfg = ModelConfig(hidden_size=args.hidden, num_layers=args.layers)
    net = SequenceClassifier(model_cfg, len(vocab), matrix.shape[1], 2, torch.from_numpy(matrix))
    pre_seconds = 0.0
    pre_hist = []
    if args.objective != "none":
        t0 = time.perf_counter()
        pre_hist = pretrain(net, tr_seqs + va_seqs, vocab, args, text)
        pre_seconds = time.perf_counter() - t0
        log(f"pretraining {pre_seconds:.0f} s")

    y_tr, y_va = torch.tensor(tr.labels), torch.tensor(va.labels)

    def batches(seqs, y, bs, shuffle, seed):
        return [
            (ids, lens, y[torch.from_numpy(idx)])
            for idx, ids, lens in padded_batches(seqs, text, bs, shuffle, seed)
        ]

    train_cfg = TrainConfig(epochs=args.epochs, lr=args.lr, precision=args.precision)
    t0 = time.perf_counter()
    hist = fit(
        net,
        lambda e: batches(tr_seqs, y_tr, 32, True, e),
        batches(va_seqs, y_va, 256, False, 0),
        classification_step,
        train_cfg,
        progress=False,
        on_epoch=lambda r: log(json.dumps(r)),
    )
    ft_seconds = time.perf_counter() - t0

    from pretrain_study import scores  # benchmarks/ is on sys.path

    s_val, s_test = scores(net, va_seqs, text), scores(net, te_seqs, text)
    yv, yt = np.asarray(va.labels), np.asarray(test.labels)
    acc_val = float(((s_val > 0) == yv).mean())
    acc_test = float(((s_test > 0) == yt).mean())
    # fusion: logistic regression on the two scores, fitted on validation
    from sklearn.linear_model import LogisticRegression

    Xv = np.stack([s_val, nb_val], 1)
    Xt = np.stack([s_test, nb_test], 1)
    lr = LogisticRegression(C=1.0).fit(Xv, yv)
    fused = float((lr.predict(Xt) == yt).mean())
    row = {
        "args": vars(args),
        "pretrain_seconds": round(pre_seconds, 1),
        "pretrain_history": pre_hist,
        "finetune_seconds": round(ft_seconds, 1),
        "history": hist.epochs,
        "best_epoch": hist.best_epoch,
        "val_acc": acc_val,
        "test_acc": acc_test,
        "nbsvm_test_acc": float(((nb_test > 0) == yt).mean()),
        "fused_test_acc": fused,
        "fusion_coef": lr.coef_.tolist(),
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }
    log(json.dumps({k: v for k, v in row.items() if k not in ("history",)}))
    if args.json:
        write_json_atomic(Path(args.json), row)


def pretrain(net, seqs, vocab, args, text):
    """Masked-token (mlm) or two-way language-model (lm) pretraining of ``net``'s
    embedding and recurrent layers, with a sampled softmax over tied word vectors."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from rnnlab.tasks.pretrain import sampled_softmax_logits
    from rnnlab.training.batching import padded_batches

    gen = torch.Generator().manual_seed(0)
    counts = np.bincount(np.concatenate([np.asarray(s) for s in seqs]), minlength=len(vocab))
    counts[:2] = 0
    q = torch.tensor(counts, dtype=torch.float64) ** 0.75
    q = (q / q.sum()).float()
    logq = torch.log(q.clamp_min(1e-12))
    d = net.embedding.weight.shape[1]
    k = net.rnn.directions
    h = net.rnn.hidden_size
    if args.objective == "mlm":
        proj = nn.Linear(k * h, d)
    else:  # lm: layer 0 forward predicts next, backward predicts previous
        proj = nn.ModuleList([nn.Linear(h, d), nn.Linear(h, d)])
    params = list(net.embedding.parameters()) + list(net.rnn.parameters()) + list(proj.parameters())
    opt = torch.optim.Adam(params, lr=args.pretrain_lr)
    hist = []
    net.train()
    for epoch in range(args.pretrain_epochs):
        t0 = time.perf_counter()
        tot, n = 0.0, 0
        batches = list(padded_batches(seqs, text, 32, True, 100 + epoch))
        total_steps = len(batches)
        for step, (_, ids, lens) in enumerate(batches):
            frac = (epoch * total_steps + step) / (args.pretrain_epochs * total_steps)
            for g in opt.param_groups:
                g["lr"] = args.pretrain_lr * min(1.0, 20 * frac) * (1 - frac * 0.9)
            valid = torch.arange(ids.shape[1])[None, :] < lens[:, None]
            if args.objective == "mlm":
                m = (torch.rand(ids.shape, generator=gen) < args.mask) & valid & (ids > 1)
                inp = ids.masked_fill(m, 1)
                out = net.rnn(net.dropout(net.embedding(inp)), lens)
                hid = proj(out[m])  # (M, D)
                targets = ids[m]
            else:
                emb = net.dropout(net.embedding(ids))
                fwd, _ = net.rnn.forward_layers[0](emb)
                from rnnlab.models.recurrent import reverse_within_length

                bwd, _ = net.rnn.backward_layers[0](reverse_within_length(emb, lens))
                bwd = reverse_within_length(bwd, lens)
                nxt = valid.clone()
                nxt[:, :-1] &= valid[:, 1:]
                nxt[:, -1] = False
                prv = valid.clone()
                prv[:, 1:] &= valid[:, :-1]
                prv[:, 0] = False
                hid = torch.cat([proj[0](fwd[nxt]), proj[1](bwd[prv])])
                tgt_next = ids[:, 1:][nxt[:, :-1]]
                tgt_prev = ids[:, :-1][prv[:, 1:]]
                targets = torch.cat([tgt_next, tgt_prev])
                keep = targets > 1
                hid, targets = hid[keep], targets[keep]
            neg = torch.multinomial(q, args.negatives, replacement=True, generator=gen)
            logits = sampled_softmax_logits(hid, targets, net.embedding.weight, logq, neg)
            loss = F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            with torch.no_grad():
                net.embedding.weight[0].zero_()
            tot += float(loss.detach()) * len(targets)
            n += len(targets)
            if step % 200 == 0:
                log(
                    f"pretrain epoch {epoch + 1} step {step}/{total_steps} loss {tot / max(n, 1):.3f}"
                )
        rec = {"epoch": epoch + 1, "loss": tot / n, "seconds": time.perf_counter() - t0}
        log(json.dumps(rec))
        hist.append(rec)
    return hist


if __name__ == "__main__":
    main()
