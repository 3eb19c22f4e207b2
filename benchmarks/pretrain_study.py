"""How to make self-supervised pretraining pay on IMDB: architectures, objectives, fine-tuning.

A research harness (its own small training loops, so every knob is one flag),
kept with its results (``benchmarks/results/pretrain_study.json``) as the
record of what was tried for issue 10. The library's ``rnnlab pretrain`` /
``rnnlab train --encoder`` implement what it found to work.

One run = one variant: Word2Vec (cached) -> an encoder, optionally pretrained
as two language models on the training texts (no labels) -> fine-tuned as a
classifier (validation loss picks the epoch) -> test accuracy alone and fused
with NBSVM 1-3 (a logistic regression on the two scores, fitted on validation).

Architectures (``--arch``):

``bi``   rnnlab's ``StackedRNN``: layer l > 0 reads both directions of layer l - 1,
         so only layer 0 can be trained as a language model.
``sep``  two independent stacks, forward and backward (ELMo's biLM): every layer
         of each is a language model; the classifier pools ``[fwd_top, bwd_top]``.

    python benchmarks/pretrain_study.py --arch sep --pretrain-epochs 3 \\
        --save-encoder /tmp/ps/sep3.pt --json /tmp/ps/sep3.json
    python benchmarks/pretrain_study.py --arch sep --load-encoder /tmp/ps/sep3.pt --enc-lr 0.3
    python benchmarks/pretrain_study.py --arch sep --load-encoder /tmp/ps/sep3.pt --elmo
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
from common import log, write_json_atomic  # noqa: E402  (benchmarks/ is on sys.path)

NOTE = (
    "one run per row, full IMDB (22,500 train / 2,500 validation / 25,000 test), 1 thread "
    "each, two runs at a time on the 2-core machine (2026-11-30): seconds compare only "
    "within a row's kind; accuracies are single seeds (seed-to-seed spread in the seed rows)"
)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="bi", choices=["bi", "sep"])
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--pretrain-epochs", type=int, default=0)
    ap.add_argument("--objective", default="lm", choices=["lm", "halves", "contrast"])
    ap.add_argument("--targets", type=int, default=20, help="halves: words predicted per half")
    ap.add_argument("--tau", type=float, default=0.1, help="contrast: temperature")
    ap.add_argument("--pretrain-batch", type=int, default=32)
    ap.add_argument("--pretrain-lr", type=float, default=2e-3)
    ap.add_argument("--negatives", type=int, default=512)
    ap.add_argument("--pretrain-maxlen", type=int, default=400)
    ap.add_argument("--save-encoder", default=None)
    ap.add_argument("--load-encoder", default=None)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--patience", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-decay", type=float, default=0.5)
    ap.add_argument("--enc-lr", type=float, default=1.0, help="encoder lr multiplier")
    ap.add_argument("--layer-decay", type=float, default=1.0, help="per layer below the top")
    ap.add_argument(
        "--unfreeze",
        type=int,
        default=0,
        help="gradual unfreezing: epoch e trains the head and the top e*K groups",
    )
    ap.add_argument("--aux-lm", type=float, default=0.0, help="LM loss weight while fine-tuning")
    ap.add_argument(
        "--elmo",
        action="store_true",
        help="ELMo: the loaded encoder stays frozen and a scalar mix of its layers joins the "
        "word vectors as the input of a fresh network (needs --load-encoder, --arch sep)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/pretrain_cache")
    ap.add_argument("--json", default=None)
    ap.add_argument("--stop-after-pretrain", action="store_true")
    ap.add_argument(
        "--collect",
        nargs=2,
        metavar=("RUNS_DIR", "OUT_JSON"),
        help="merge the --json files of RUNS_DIR into one results file, and stop",
    )
    args = ap.parse_args()
    if args.elmo and not (args.load_encoder and args.arch == "sep"):
        ap.error("--elmo needs --load-encoder (a sep encoder) and --arch sep")
    return args


def collect(runs: Path, out: Path, note: str) -> None:
    """One results file from the runs' JSON files (a row per file, named after it)."""
    rows = {}
    for f in sorted(runs.glob("*.json")):
        r = json.loads(f.read_text())
        if "test_acc" not in r:
            continue
        a = r["args"]
        pretrained = bool(a.get("pretrain_epochs") or a.get("load_encoder"))
        a = {**a, "objective": a.get("objective", "lm") if pretrained else "none"}
        a.pop("json", None), a.pop("cache", None)
        rows[f.stem] = {k: r[k] for k in ("pretrain_seconds", "pretrain_history",
                                          "finetune_seconds", "history", "val_acc",
                                          "test_acc", "fused_test_acc")}  # fmt: skip
        rows[f.stem]["args"] = a
    write_json_atomic(out, {"benchmark": "pretrain_study", "note": note, "rows": rows})
    for name, r in rows.items():
        print(f"{name:24s} val {r['val_acc']:.4f} test {r['test_acc']:.4f} "
              f"fused {r['fused_test_acc']:.4f} pretrain {r['pretrain_seconds']:6.0f} s")  # fmt: skip


# ------------------------------------------------------------------------------ data


def data(cache: Path):
    """Token ids of the train/val/test splits, Word2Vec matrix, NBSVM scores (cached)."""
    from rnnlab.config import EmbeddingConfig, TextConfig
    from rnnlab.data import load_dataset, train_val_split
    from rnnlab.tasks.classify import embedding_step, truncate
    from rnnlab.text import Vocab
    from rnnlab.text.tokenizers import make_tokenizer

    cache.mkdir(parents=True, exist_ok=True)
    f = cache / "study_ids.npz"
    text = TextConfig()
    if f.exists():
        z = np.load(f)

        def split(name):
            flat, off = z[name + "_flat"], z[name + "_off"]
            return [flat[a:b].tolist() for a, b in zip(off[:-1], off[1:], strict=True)]

        out = {k: split(k) for k in ("tr", "va", "te")}
        out.update(y_tr=z["y_tr"], y_va=z["y_va"], y_te=z["y_te"], vocab_size=int(z["v"]))
    else:
        ds = load_dataset(str(DATA), split="train")
        test = load_dataset(str(DATA), split="test")
        tr, va = train_val_split(ds, 0.1, 0)
        tok = make_tokenizer(text).fit(tr.texts)
        tr_tokens = tok.batch(tr.texts)
        vocab = Vocab.build(tr_tokens, max_size=text.max_vocab, min_freq=text.min_freq)
        out = {
            "tr": [vocab.encode(t) for t in tr_tokens],
            "va": [vocab.encode(t) for t in tok.batch(va.texts)],
            "te": [vocab.encode(t) for t in tok.batch(test.texts)],
            "y_tr": np.asarray(tr.labels), "y_va": np.asarray(va.labels),
            "y_te": np.asarray(test.labels), "vocab_size": len(vocab),
        }  # fmt: skip
        w2v = cache / "w2v_0.npy"
        if not w2v.exists():
            matrix, _, _, _ = embedding_step(EmbeddingConfig(), tr_tokens, vocab, 0, log)
            np.save(w2v, matrix)
        arrays = {}
        for k in ("tr", "va", "te"):
            arrays[k + "_flat"] = np.concatenate([np.asarray(s, np.int64) for s in out[k]])
            arrays[k + "_off"] = np.cumsum([0] + [len(s) for s in out[k]])
        np.savez(f, **arrays, y_tr=out["y_tr"], y_va=out["y_va"], y_te=out["y_te"],
                 v=out["vocab_size"])  # fmt: skip
    out["matrix"] = np.load(cache / "w2v_0.npy")
    nb = np.load(cache / "nbsvm_0.npz")
    out["nb_va"], out["nb_te"] = nb["val"], nb["test"]
    out["full"] = {k: out[k] for k in ("tr", "va", "te")}
    for k in ("tr", "va", "te"):  # the classifier reads the last maxlen tokens
        out[k] = [truncate(s, text) for s in out[k]]
    return out, text


# --------------------------------------------------------------------------- network


def build(args, vocab_size, matrix):
    return build_extra(args, vocab_size, matrix, 0)


def build_extra(args, vocab_size, matrix, extra):
    import torch
    from torch import nn

    from rnnlab.models.recurrent import StackedRNN, pool, reverse_within_length

    class Net(nn.Module):
        def __init__(self, extra: int = 0):
            super().__init__()
            d, h = matrix.shape[1], args.hidden
            d_in = d + extra  # layer 0 reads the word vectors (and ELMo's features)
            self.embedding = nn.Embedding(vocab_size, d, padding_idx=0)
            with torch.no_grad():
                self.embedding.weight.copy_(torch.from_numpy(matrix))
                self.embedding.weight[0].zero_()
            self.dropout = nn.Dropout(args.dropout)
            if args.arch == "bi":
                self.rnn = StackedRNN("lstm", d, h, args.layers, True, args.dropout)
                self.fwd, self.bwd = self.rnn.forward_layers, self.rnn.backward_layers
            else:
                self.fwd = nn.ModuleList(
                    [
                        nn.LSTM(d_in if i == 0 else h, h, batch_first=True)
                        for i in range(args.layers)
                    ]
                )
                self.bwd = nn.ModuleList(
                    [
                        nn.LSTM(d_in if i == 0 else h, h, batch_first=True)
                        for i in range(args.layers)
                    ]
                )
            self.proj = nn.ModuleList([nn.Linear(h, d), nn.Linear(h, d)])  # LM heads
            self.head = nn.Linear(4 * h, 2)
            if args.objective == "contrast":
                self.doc_proj = nn.Sequential(nn.Linear(4 * h, 4 * h), nn.ReLU(),
                                              nn.Linear(4 * h, 128))  # fmt: skip
            if args.objective == "halves":  # pooled half -> the other half's words
                self.doc_proj = nn.Linear(4 * h, d)
                self.out_emb = nn.Parameter(torch.from_numpy(matrix.copy()))

        def pooled(self, ids, lens):
            f, b = self.stacks(ids, lens)
            return pool(torch.cat([f, b], -1), lens, "maxmean", 2)

        def groups(self):
            """Layer groups, bottom to top: embedding, layer 0 (both directions), ..."""
            out = [[self.embedding.weight]]
            for i in range(args.layers):
                out.append(list(self.fwd[i].parameters()) + list(self.bwd[i].parameters()))
            return out

        def stacks(self, ids, lens, extra=None):
            """-> fwd top (N,T,H), bwd top in place (N,T,H), LM depth used."""
            x = self.embedding(ids)
            x = self.dropout(x if extra is None else torch.cat([x, extra], -1))
            if args.arch == "bi":
                out = self.rnn(x, lens)
                h = args.hidden
                return out[..., :h], out[..., h:]
            f, b = x, reverse_within_length(x, lens)
            for i in range(args.layers):
                if i:
                    f, b = self.dropout(f), self.dropout(b)
                f, b = self.fwd[i](f)[0], self.bwd[i](b)[0]
            return f, reverse_within_length(b, lens)

        def lm_states(self, ids, lens):
            """The states that are language models: forward predicts t+1, backward t-1."""
            if args.arch == "sep":
                return self.stacks(ids, lens)
            x = self.dropout(self.embedding(ids))
            f = self.fwd[0](x)[0]
            b = reverse_within_length(self.bwd[0](reverse_within_length(x, lens))[0], lens)
            return f, b

        def forward(self, ids, lens, with_states=False):
            f, b = self.stacks(ids, lens)
            out = torch.cat([f, b], -1)
            logits = self.head(self.dropout(pool(out, lens, "maxmean", 2)))
            return (logits, (f, b)) if with_states else logits

    return Net(extra)


def build_elmo(args, vocab_size, matrix, lm):
    """A fresh ``sep`` network whose layer 0 reads [word vectors, ELMo features]: the
    frozen biLM ``lm``'s layers (forward and backward state of each, (N, T, 2H)),
    mixed by softmax-normalised weights and a scale, both learned (Peters et al. 2018)."""
    import torch
    from torch import nn

    from rnnlab.models.recurrent import pool, reverse_within_length

    h = args.hidden
    inner = build_extra(args, vocab_size, matrix, 2 * h)
    for p in lm.parameters():
        p.requires_grad_(False)

    class Elmo(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.lm = inner, lm
            self.mix = nn.Parameter(torch.zeros(args.layers))
            self.gamma = nn.Parameter(torch.ones(()))
            self.embedding, self.head, self.proj = inner.embedding, inner.head, inner.proj

        def features(self, ids, lens):
            self.lm.eval()
            with torch.no_grad():
                x = self.lm.embedding(ids)
                f, b = x, reverse_within_length(x, lens)
                layers = []
                for i in range(args.layers):
                    f, b = self.lm.fwd[i](f)[0], self.lm.bwd[i](b)[0]
                    layers.append(torch.cat([f, reverse_within_length(b, lens)], -1))
            w = torch.softmax(self.mix, 0)
            return self.gamma * sum(w[i] * layers[i] for i in range(args.layers))

        def groups(self):
            return [*self.inner.groups()[:-1], self.inner.groups()[-1] + [self.mix, self.gamma]]

        def forward(self, ids, lens, with_states=False):
            f, b = self.inner.stacks(ids, lens, self.features(ids, lens))
            out = torch.cat([f, b], -1)
            logits = self.head(self.inner.dropout(pool(out, lens, "maxmean", 2)))
            return (logits, (f, b)) if with_states else logits

    return Elmo()


def lm_loss(net, ids, lens, states, q, logq, negatives, gen):
    """Sampled-softmax loss of the forward (next token) and backward (previous) LMs."""
    import torch
    import torch.nn.functional as F

    from rnnlab.models.recurrent import length_mask
    from rnnlab.tasks.pretrain import sampled_softmax_logits

    f, b = states
    nxt = length_mask(lens, ids.shape[1])[:, 1:]  # (N, T-1)
    hid = torch.cat([net.proj[0](f[:, :-1][nxt]), net.proj[1](b[:, 1:][nxt])])
    tgt = torch.cat([ids[:, 1:][nxt], ids[:, :-1][nxt]])
    keep = tgt > 1
    hid, tgt = hid[keep], tgt[keep]
    neg = torch.multinomial(q, negatives, replacement=True, generator=gen)
    logits = sampled_softmax_logits(hid, tgt, net.embedding.weight, logq, neg)
    return F.cross_entropy(logits, torch.zeros(len(tgt), dtype=torch.long))


def proposal(seqs, vocab_size):
    import torch

    counts = np.bincount(np.concatenate([np.asarray(s) for s in seqs]), minlength=vocab_size)
    counts[:2] = 0
    q = torch.tensor(counts, dtype=torch.float64) ** 0.75
    q = (q / q.sum()).float()
    return q, torch.log(q.clamp_min(1e-12))


def halves_batches(seqs, text, args, epoch, counts):
    """Each text split near its middle; each half with ``targets`` ids drawn from the
    other half (frequent words down-weighted by 1/sqrt(count))."""
    import torch

    from rnnlab.training.batching import padded_batches

    rng = np.random.default_rng(1000 * args.seed + epoch)
    halves, partners = [], []
    for s in seqs:
        s = np.asarray(s[-args.pretrain_maxlen :])
        known = s[s > 1]
        if len(known) < 8:
            continue
        m = int(len(s) * rng.uniform(0.35, 0.65))
        a, b = s[:m], s[m:]
        halves += [a.tolist(), b.tolist()]
        partners += [b[b > 1], a[a > 1]]
    tg = np.zeros((len(halves), args.targets), dtype=np.int64)
    for i, p in enumerate(partners):
        if len(p) == 0:
            p = np.asarray(halves[i])[np.asarray(halves[i]) > 1]
        w = 1.0 / np.sqrt(counts[p])
        tg[i] = rng.choice(p, size=args.targets, p=w / w.sum())
    tg = torch.from_numpy(tg)
    ptext = text.replace(maxlen=args.pretrain_maxlen)
    return [(tg[torch.from_numpy(idx)], ids, lens)
            for idx, ids, lens in padded_batches(halves, ptext, 32, True, epoch)]  # fmt: skip


def contrast_batches(seqs, args, epoch):
    """Batches of texts, each text as two halves (split near the middle), padded apart."""
    import torch

    rng = np.random.default_rng(1000 * args.seed + epoch)
    docs = [np.asarray(s[-args.pretrain_maxlen :]) for s in seqs if len(s) >= 8]
    order = np.argsort([len(d) + rng.uniform(0, 8) for d in docs])  # length buckets
    chunks = [order[i : i + args.pretrain_batch] for i in range(0, len(order), args.pretrain_batch)]
    rng.shuffle(chunks)

    def pad(parts):
        lens = torch.tensor([len(x) for x in parts])
        ids = torch.zeros(len(parts), int(lens.max()), dtype=torch.long)
        for i, x in enumerate(parts):
            ids[i, : len(x)] = torch.from_numpy(x)
        return ids, lens

    out = []
    for c in chunks:
        a, b = [], []
        for i in c:
            m = int(len(docs[i]) * rng.uniform(0.35, 0.65))
            a.append(docs[i][:m])
            b.append(docs[i][m:])
        out.append((pad(a), pad(b)))
    return out


def contrast_loss(net, a, b, tau):
    import torch
    import torch.nn.functional as F

    za = F.normalize(net.doc_proj(net.pooled(*a)), dim=-1)
    zb = F.normalize(net.doc_proj(net.pooled(*b)), dim=-1)
    logits = za @ zb.T / tau  # (N, N)
    y = torch.arange(len(za))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def halves_loss(net, ids, lens, tgt, q, logq, negatives, gen):
    import torch
    import torch.nn.functional as F

    hid = net.doc_proj(net.dropout(net.pooled(ids, lens)))  # (N, D)
    w = net.out_emb
    neg = torch.multinomial(q, negatives, replacement=True, generator=gen)  # (S,)
    true = torch.einsum("nd,nkd->nk", hid, w[tgt]) - logq[tgt]  # (N, K)
    sc = hid @ w[neg].T - logq[neg][None, :]  # (N, S)
    n, k = tgt.shape
    sc = sc[:, None, :].expand(n, k, -1).masked_fill(tgt[:, :, None] == neg[None, None, :], -1e4)
    logits = torch.cat([true[:, :, None], sc], -1).reshape(n * k, -1)
    return F.cross_entropy(logits, torch.zeros(n * k, dtype=torch.long))


def pretrain(net, seqs, text, args, q, logq):
    import torch

    from rnnlab.training.batching import padded_batches

    gen = torch.Generator().manual_seed(args.seed)
    counts = np.bincount(np.concatenate([np.asarray(x) for x in seqs]), minlength=len(q))
    if args.objective in ("halves", "contrast"):
        params = [p for n, p in net.named_parameters() if not n.startswith(("head", "proj"))]
    elif args.arch == "bi":  # only layer 0 is a language model
        params = list(net.embedding.parameters()) + list(net.fwd[0].parameters())
        params += list(net.bwd[0].parameters()) + list(net.proj.parameters())
    else:
        params = [p for n, p in net.named_parameters() if not n.startswith("head")]
    opt = torch.optim.Adam(params, lr=args.pretrain_lr)
    ptext = text.replace(maxlen=args.pretrain_maxlen)
    hist = []
    net.train()
    per_epoch = None
    for epoch in range(args.pretrain_epochs):
        t0 = time.perf_counter()
        if args.objective == "halves":
            batches = halves_batches(seqs, text, args, epoch, counts)
        elif args.objective == "contrast":
            batches = [(None, a, b) for a, b in contrast_batches(seqs, args, epoch)]
        else:
            batches = list(padded_batches(seqs, ptext, 32, True, 100 + epoch + 1000 * args.seed))
        per_epoch = len(batches)
        tot = n = 0.0
        for step, (first, ids, lens) in enumerate(batches):
            frac = (epoch * per_epoch + step) / (args.pretrain_epochs * per_epoch)
            for g in opt.param_groups:
                g["lr"] = args.pretrain_lr * min(1.0, 20 * frac) * (1 - frac * 0.9)
            if args.objective == "contrast":
                loss = contrast_loss(net, ids, lens, args.tau)
            elif args.objective == "halves":
                loss = halves_loss(net, ids, lens, first, q, logq, args.negatives, gen)
            else:
                states = net.lm_states(ids, lens)
                loss = lm_loss(net, ids, lens, states, q, logq, args.negatives, gen)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            with torch.no_grad():
                net.embedding.weight[0].zero_()
            tot += float(loss.detach())
            n += 1
            if step % 200 == 0:
                log(f"pretrain {epoch + 1} step {step}/{per_epoch} loss {tot / n:.3f}")
        rec = {"epoch": epoch + 1, "loss": tot / n, "seconds": round(time.perf_counter() - t0, 1)}
        log(json.dumps(rec))
        hist.append(rec)
    return hist


def finetune(net, d, text, args, q, logq):
    import torch
    import torch.nn.functional as F

    from rnnlab.training.batching import padded_batches

    gen = torch.Generator().manual_seed(args.seed + 7)
    groups = net.groups()  # bottom .. top
    depth = len(groups)
    pg = []
    for i, params in enumerate(groups):
        mult = args.enc_lr * args.layer_decay ** (depth - 1 - i)
        pg.append({"params": params, "mult": mult})
    head = list(net.head.parameters()) + (list(net.proj.parameters()) if args.aux_lm else [])
    pg.append({"params": head, "mult": 1.0})
    opt = torch.optim.Adam([{"params": g["params"]} for g in pg], lr=args.lr)
    y_tr = torch.as_tensor(d["y_tr"])
    y_va = torch.as_tensor(d["y_va"])
    val = [(ids, lens, y_va[torch.from_numpy(idx)])
           for idx, ids, lens in padded_batches(d["va"], text, 256)]  # fmt: skip
    best, best_loss, bad, hist = None, float("inf"), 0, []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        lr = args.lr * args.lr_decay**epoch
        for g, spec in zip(opt.param_groups, pg, strict=True):
            g["lr"] = lr * spec["mult"]
        if args.unfreeze:  # ULMFiT: epoch e trains the head and the top e*unfreeze groups
            for i, params in enumerate(groups):
                for p in params:
                    p.requires_grad_(i >= depth - epoch * args.unfreeze)
        net.train()
        tot = correct = n = 0.0
        for idx, ids, lens in padded_batches(d["tr"], text, 32, True, epoch + 1000 * args.seed):
            y = y_tr[torch.from_numpy(idx)]
            logits, states = net(ids, lens, with_states=True)
            loss = F.cross_entropy(logits, y)
            if args.aux_lm:
                loss = loss + args.aux_lm * lm_loss(net, ids, lens, states, q, logq,
                                                    args.negatives, gen)  # fmt: skip
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            with torch.no_grad():
                net.embedding.weight[0].zero_()
            tot += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            n += len(y)
        net.eval()
        vl = vc = vn = 0.0
        with torch.inference_mode():
            for ids, lens, y in val:
                lg = net(ids, lens)
                vl += float(F.cross_entropy(lg, y, reduction="sum"))
                vc += float((lg.argmax(1) == y).sum())
                vn += len(y)
        rec = {"epoch": epoch + 1, "lr": lr, "train_loss": tot / n, "train_acc": correct / n,
               "val_loss": vl / vn, "val_acc": vc / vn,
               "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
        log(json.dumps(rec))
        hist.append(rec)
        if rec["val_loss"] < best_loss:
            best_loss, best, bad = rec["val_loss"], copy.deepcopy(net.state_dict()), 0
        else:
            bad += 1
            if bad > args.patience:
                break
    for p in net.parameters():
        p.requires_grad_(True)
    net.load_state_dict(best)
    return hist


def scores(net, seqs, text):
    import torch

    from rnnlab.training.batching import padded_batches

    out = np.zeros(len(seqs))
    net.eval()
    with torch.inference_mode():
        for idx, ids, lens in padded_batches(seqs, text, 256):
            lg = net(ids, lens)
            out[idx] = (lg[:, 1] - lg[:, 0]).numpy()
    return out


def main() -> None:
    args = parse()
    if args.collect:
        collect(Path(args.collect[0]), Path(args.collect[1]), NOTE)
        return
    import torch

    from rnnlab.training import seed_everything, set_threads

    t_start = time.perf_counter()
    set_threads(args.threads)
    d, text = data(Path(args.cache))
    log(f"data ready {time.perf_counter() - t_start:.0f} s")
    seed_everything(args.seed)
    net = build(args, d["vocab_size"], d["matrix"])
    q, logq = proposal(d["tr"], d["vocab_size"])
    pre_hist, pre_s = [], 0.0
    if args.load_encoder:
        state = torch.load(args.load_encoder, weights_only=True)
        net.load_state_dict({k: v for k, v in state.items() if not k.startswith("head")},
                            strict=False)  # fmt: skip
        if args.elmo:  # the pretrained network becomes the frozen feature extractor
            net = build_elmo(args, d["vocab_size"], d["matrix"], net)
        meta = json.loads(Path(args.load_encoder + ".json").read_text())
        pre_hist, pre_s = meta["history"], meta["seconds"]
    elif args.pretrain_epochs:
        t0 = time.perf_counter()
        pre_hist = pretrain(net, d["full"]["tr"], text, args, q, logq)
        pre_s = round(time.perf_counter() - t0, 1)
        if args.save_encoder:
            torch.save(net.state_dict(), args.save_encoder)
            Path(args.save_encoder + ".json").write_text(
                json.dumps({"args": vars(args), "history": pre_hist, "seconds": pre_s})
            )
    if args.stop_after_pretrain:
        return
    t0 = time.perf_counter()
    hist = finetune(net, d, text, args, q, logq)
    ft_s = round(time.perf_counter() - t0, 1)
    s_va, s_te = scores(net, d["va"], text), scores(net, d["te"], text)
    from sklearn.linear_model import LogisticRegression

    yv, yt = d["y_va"], d["y_te"]
    fus = LogisticRegression(C=1.0).fit(np.stack([s_va, d["nb_va"]], 1), yv)
    row = {
        "args": vars(args),
        "pretrain_seconds": pre_s,
        "pretrain_history": pre_hist,
        "finetune_seconds": ft_s,
        "history": hist,
        "val_acc": float(((s_va > 0) == yv).mean()),
        "test_acc": float(((s_te > 0) == yt).mean()),
        "fused_test_acc": float((fus.predict(np.stack([s_te, d["nb_te"]], 1)) == yt).mean()),
        "fusion_coef": fus.coef_.tolist(),
    }
    log(json.dumps({k: v for k, v in row.items() if k not in ("history", "pretrain_history")}))
    if args.json:
        write_json_atomic(Path(args.json), row)
        np.savez(Path(args.json).with_suffix(".scores.npz"), val=s_va, test=s_te)


if __name__ == "__main__":
    main()
