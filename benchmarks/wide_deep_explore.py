"""Wide & deep on an IMDB subset: does NB-weighted n-gram evidence help the BiLSTM?

Rows, all on the same subset, seed and vocabulary/Word2Vec:

- ``nbsvm``: NBSVM (NB-LR) uni+bi+trigrams, no feature cap;
- ``bilstm``: the default 2-layer BiLSTM(48) with small settings (maxlen 200, 2 epochs);
- ``average``: the two separate models' probabilities averaged, weight on the
  BiLSTM tuned on the validation split;
- ``wd-*``: :class:`rnnlab.models.wide.WideAndDeep` variants trained jointly
  (test accuracy of the joint model, and of each part alone as trained inside it);
- ``oof``: the deep part trained on top of *out-of-fold* NBSVM logits (a fixed
  offset; each training text's wide logit comes from an NBSVM that never saw it),
  then the full-train NBSVM's logits at validation/test.

Epochs are chosen on the validation split (10% of the training subset); the
test subset is never used for fitting or choosing. Usage::

    .venv/bin/python benchmarks/wide_deep_explore.py --train 10000 --test 5000

Prints a table and writes ``benchmarks/results/wide_deep_explore.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig
from rnnlab.data import load_dataset
from rnnlab.models import SequenceClassifier
from rnnlab.models.linear import LinearConfig, LinearTextClassifier
from rnnlab.models.wide import WideAndDeep, WideConfig, bag_tensors, build_wide
from rnnlab.tasks.classify import embedding_step, padded_batches, truncate
from rnnlab.text import Vocab, tokenize

DATA = "/work/shared/data/aclImdb_v1_labeled.tar.gz"
OUT = Path(__file__).parent / "results" / "wide_deep_explore.json"

VARIANTS = {
    # naive joint training: wide part from zero, same lr, no regularisation
    "wd-naive": WideConfig(),
    # warm start from a fitted NBSVM, frozen for the first epoch
    "wd-nbsvm-frozen": WideConfig(init="nbsvm", freeze_epochs=1, lr_scale=0.1),
    # zero start, n-gram dropout, slower wide part, weight decay
    "wd-dropout": WideConfig(feature_dropout=0.5, lr_scale=0.3, weight_decay=1e-2),
    # second round: warm start + n-gram dropout; stronger dropout, slower wide part
    "wd-nbsvm-dropout": WideConfig(init="nbsvm", feature_dropout=0.5, lr_scale=0.1),
    "wd-strong": WideConfig(feature_dropout=0.8, lr_scale=0.1, weight_decay=5e-2),
    # third round: a fixed NBSVM whose n-grams are dropped hard, so the deep part sees loss
    "wd-nbsvm-fixed-drop8": WideConfig(init="nbsvm", feature_dropout=0.8, lr_scale=0.0),
}


def subset(ds, n, rng):
    idx = rng.permutation(len(ds.texts))[:n]
    return [ds.texts[i] for i in idx], np.asarray([ds.labels[i] for i in idx], dtype=np.int64)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def batches(seqs, y, text, bs, shuffle, seed, X=None, offset=None):
    """(idx, inputs tuple, y) batches; inputs carry the wide bag or a fixed logit offset."""
    yt = torch.as_tensor(y)
    out = []
    for idx, ids, lens in padded_batches(seqs, text, bs, shuffle, seed):
        extra = ()
        if X is not None:
            extra = bag_tensors(X[idx])
        elif offset is not None:
            extra = (torch.from_numpy(offset[idx]),)
        out.append((idx, (ids, lens, *extra), yt[torch.from_numpy(idx)]))
    return out


class Offset(torch.nn.Module):
    """deep(ids, lengths) + a fixed (N, C) logit offset (the out-of-fold wide logits)."""

    def __init__(self, deep):
        super().__init__()
        self.deep = deep

    def forward(self, ids, lengths, offset):
        return self.deep(ids, lengths) + offset


def predict(model, bs_list, n):
    model.eval()
    z = np.zeros((n, 2))
    with torch.inference_mode():
        for idx, inputs, _ in bs_list:
            z[idx] = model(*inputs).double().numpy()
    model.train()
    return softmax(z)


def acc(p, y):
    return float((p.argmax(1) == y).mean())


def deep_grad_norm(model):
    sq = [p.grad.pow(2).sum() for p in model.deep.parameters() if p.grad is not None]
    return float(torch.stack(sq).sum().sqrt()) if sq else 0.0


def train_net(model, train_fn, val, test, y_val, y_test, epochs, lr, groups=None, wide_cfg=None,
              log=print):  # fmt: skip
    """Adam(W) with the task's schedule (lr x 0.5 per epoch, clip 5); best epoch on validation."""
    opt = torch.optim.AdamW(groups or model.parameters(), lr=lr, weight_decay=0.0)
    base = [g["lr"] for g in opt.param_groups]
    best, history, t0 = None, [], time.perf_counter()
    for epoch in range(epochs):
        frozen = wide_cfg is not None and epoch < wide_cfg.freeze_epochs
        for g, lr0 in zip(opt.param_groups, base, strict=True):
            g["lr"] = 0.0 if (frozen and g.get("wide")) else lr0 * 0.5**epoch
        losses, grads, correct, seen = [], [], 0.0, 0
        for _, inputs, y in train_fn(epoch):
            logits = model(*inputs)
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            if hasattr(model, "deep"):
                grads.append(deep_grad_norm(model))
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses.append(loss.item())
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
        row = {
            "epoch": epoch + 1,
            "train_loss": round(float(np.mean(losses)), 4),
            "train_loss_last100": round(float(np.mean(losses[-100:])), 4),
            "train_acc": round(correct / seen, 4),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        if grads:
            row["deep_grad_norm_first100"] = round(float(np.mean(grads[:100])), 4)
            row["deep_grad_norm_last100"] = round(float(np.mean(grads[-100:])), 4)
        p_val = predict(model, val, len(y_val))
        row["val_acc"] = round(acc(p_val, y_val), 4)
        if isinstance(model, WideAndDeep):  # each part alone, as trained inside the joint model
            for part in ("deep", "wide"):
                setattr(model, "use_wide" if part == "deep" else "use_deep", False)
                row[f"val_acc_{part}_only"] = round(acc(predict(model, val, len(y_val)), y_val), 4)
                model.use_deep = model.use_wide = True
        history.append(row)
        log(f"  {row}")
        if best is None or row["val_acc"] > best[0]:
            state = {k: v.clone() for k, v in model.state_dict().items()}
            best = (row["val_acc"], epoch + 1, state)
    model.load_state_dict(best[2])
    out = {"best_epoch": best[1], "history": history, "train_seconds": history[-1]["seconds"]}
    out["p_val"], out["p_test"] = predict(model, val, len(y_val)), predict(model, test, len(y_test))
    out["val_acc"], out["test_acc"] = acc(out["p_val"], y_val), acc(out["p_test"], y_test)
    if isinstance(model, WideAndDeep):
        for part in ("deep", "wide"):
            setattr(model, "use_wide" if part == "deep" else "use_deep", False)
            out[f"test_acc_{part}_only"] = acc(predict(model, test, len(y_test)), y_test)
            model.use_deep = model.use_wide = True
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--train", type=int, default=10000, help="training reviews (10%% validation)")
    ap.add_argument("--test", type=int, default=5000, help="test reviews")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--maxlen", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default="all", help="comma list of wd-* / oof, or 'all'")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    t_all = time.perf_counter()

    tr_texts, tr_y = subset(load_dataset(args.data, split="train"), args.train, rng)
    te_texts, y_test = subset(load_dataset(args.data, split="test"), args.test, rng)
    n_val = len(tr_texts) // 10
    va_texts, y_val = tr_texts[:n_val], tr_y[:n_val]
    tr_texts, tr_y = tr_texts[n_val:], tr_y[n_val:]
    print(f"data: {len(tr_texts)} train / {len(va_texts)} validation / {len(te_texts)} test")

    rows: dict[str, dict] = {}
    # -- NBSVM 1-3 -----------------------------------------------------------------
    t0 = time.perf_counter()
    lin_cfg = LinearConfig(ngram_range=(1, 3), max_features=0)
    nb = LinearTextClassifier.fit("nbsvm", tr_texts, tr_y, ["neg", "pos"], lin_cfg, args.seed)
    nb_p_val, nb_p_test = nb.predict_proba(va_texts), nb.predict_proba(te_texts)
    rows["nbsvm"] = {
        "val_acc": acc(nb_p_val, y_val),
        "test_acc": acc(nb_p_test, y_test),
        "train_acc": acc(nb.predict_proba(tr_texts), tr_y),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "n_features": nb.n_features,
    }
    print("nbsvm", rows["nbsvm"])

    # -- shared vocabulary + Word2Vec ------------------------------------------------
    text = TextConfig(maxlen=args.maxlen)
    tokens = [tokenize(t) for t in tr_texts]
    vocab = Vocab.build(tokens, max_size=text.max_vocab, min_freq=text.min_freq)
    matrix, _, dim, w2v_s = embedding_step(EmbeddingConfig(), tokens, vocab, args.seed, print)
    seqs = {
        "train": [truncate(vocab.encode(t), text) for t in tokens],
        "val": [truncate(vocab.encode(tokenize(t)), text) for t in va_texts],
        "test": [truncate(vocab.encode(tokenize(t)), text) for t in te_texts],
    }
    del tokens

    def deep_net():
        torch.manual_seed(args.seed)
        return SequenceClassifier(ModelConfig(), len(vocab), dim, 2, torch.from_numpy(matrix))

    def run(name, model, X=None, offsets=None, groups=None, wide_cfg=None):
        Xs, offs = X or {}, offsets or {}
        val = batches(seqs["val"], y_val, text, 256, False, 0, Xs.get("val"), offs.get("val"))
        test = batches(seqs["test"], y_test, text, 256, False, 0, Xs.get("test"), offs.get("test"))

        def train_fn(epoch):
            return batches(seqs["train"], tr_y, text, 32, True, args.seed + epoch,
                           Xs.get("train"), offs.get("train"))  # fmt: skip

        print(f"{name}:")
        res = train_net(model, train_fn, val, test, y_val, y_test, args.epochs, 2e-3, groups,
                        wide_cfg)  # fmt: skip
        return res

    # -- BiLSTM alone + probability average -------------------------------------------
    res = run("bilstm", deep_net())
    p_val, p_test = res.pop("p_val"), res.pop("p_test")
    rows["bilstm"] = res
    grid = np.round(np.arange(0, 1.0001, 0.05), 2)
    val_accs = [acc(w * p_val + (1 - w) * nb_p_val, y_val) for w in grid]
    w = float(grid[int(np.argmax(val_accs))])
    rows["average"] = {
        "weight_bilstm": w,
        "val_acc": max(val_accs),
        "test_acc": acc(w * p_test + (1 - w) * nb_p_test, y_test),
        "test_acc_equal_weights": acc(0.5 * p_test + 0.5 * nb_p_test, y_test),
    }
    print("average", rows["average"])

    # -- wide & deep, jointly ------------------------------------------------------------
    wanted = list(VARIANTS) + ["oof"] if args.variants == "all" else args.variants.split(",")
    for name in wanted:
        if name == "oof":
            rows["oof"] = run_oof(args, tr_texts, tr_y, va_texts, te_texts, lin_cfg, nb, deep_net,
                                  run)  # fmt: skip
            continue
        cfg = VARIANTS[name]
        t0 = time.perf_counter()
        feats, wide = build_wide(tr_texts, tr_y, tokenize, cfg, num_classes=2, seed=args.seed)
        X = {"train": feats(tr_texts), "val": feats(va_texts), "test": feats(te_texts)}
        build_s = time.perf_counter() - t0
        model = WideAndDeep(deep_net(), wide)
        res = run(name, model, X, groups=model.param_groups(2e-3, cfg), wide_cfg=cfg)
        res.pop("p_val"), res.pop("p_test")
        res["wide_build_seconds"] = round(build_s, 1)
        res["config"] = cfg.to_dict()
        rows[name] = res
        print(name, {k: v for k, v in res.items() if k != "history"})

    report = {
        "benchmark": "wide_deep_explore",
        "data": {
            "source": args.data,
            "n_train": len(tr_texts),
            "n_validation": len(va_texts),
            "n_test": len(te_texts),
            "seed": args.seed,
        },  # fmt: skip
        "settings": {"maxlen": args.maxlen, "epochs": args.epochs, "hidden": 48, "threads": 1},
        "word2vec_seconds": round(w2v_s, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_end": os.getloadavg(),
            "note": "2 cores shared with ~7 other agents: seconds are noisy",
        },  # fmt: skip
        "total_seconds": round(time.perf_counter() - t_all, 1),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(f"\n{'row':<18}{'val':>8}{'test':>8}{'deep-only':>11}{'wide-only':>11}{'train s':>9}")
    for name, r in rows.items():
        d, wd = r.get("test_acc_deep_only"), r.get("test_acc_wide_only")
        print(f"{name:<18}{r['val_acc']:>8.4f}{r['test_acc']:>8.4f}"
              f"{'' if d is None else f'{d:.4f}':>11}{'' if wd is None else f'{wd:.4f}':>11}"
              f"{r.get('train_seconds', ''):>9}")  # fmt: skip
    print(f"wrote {args.out}")


def run_oof(args, tr_texts, tr_y, va_texts, te_texts, lin_cfg, nb, deep_net, run, folds=5):
    """The deep part learns on top of out-of-fold NBSVM logits (stacking, trained as a residual)."""
    t0 = time.perf_counter()
    z_train = np.zeros(len(tr_texts))
    fold_of = np.random.default_rng(args.seed).permutation(len(tr_texts)) % folds
    for f in range(folds):
        fit_idx, held = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        m = LinearTextClassifier.fit("nbsvm", [tr_texts[i] for i in fit_idx], tr_y[fit_idx],
                                     ["neg", "pos"], lin_cfg, args.seed)  # fmt: skip
        z_train[held] = m.decision_function([tr_texts[i] for i in held])[:, 0]

    def as_logits(z):
        return np.stack([np.zeros_like(z), z], axis=1).astype(np.float32)  # (N, 2)

    offsets = {
        "train": as_logits(z_train),
        "val": as_logits(nb.decision_function(va_texts)[:, 0]),
        "test": as_logits(nb.decision_function(te_texts)[:, 0]),
    }
    oof_s = time.perf_counter() - t0
    model = Offset(deep_net())
    res = run("oof", model, offsets=offsets)
    res.pop("p_val"), res.pop("p_test")
    res["oof_seconds"] = round(oof_s, 1)
    res["oof_train_acc_wide"] = acc(offsets["train"], tr_y)
    return res


if __name__ == "__main__":
    main()
