"""A tiny LSTM classifier trained by ``rnnlab.training.fit``, run as a subprocess by the tests.

    python train_script.py OUT [--resume] [--every-steps N] [--epochs E] [--dropout P]
        [--batch-size B] [--items N]

Writes ``OUT/final.safetensors`` (the weights fit returns) and ``OUT/history.json``;
checkpoints go to ``OUT/checkpoints``. Under torchrun it joins the process group
and only rank 0 writes. A library error is printed as one ``error: ...`` line and
exits 1, as the CLI does.

Every random generator is in play, so that a resume which forgot one would show:
the epoch's batch order comes from NumPy's global generator, token dropout in the
step from Python's ``random``, dropout layers from torch's.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.training import (
    bucket_batches,
    collate,
    fit,
    init_distributed,
    seed_everything,
    shutdown_distributed,
)

CUE = 3  # label 1 iff the sequence holds this token
VOCAB = 30


def toy_data(n: int, seed: int) -> tuple[list[list[int]], np.ndarray]:
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        choices = [t for t in range(2, VOCAB) if t != CUE]
        seq = [int(t) for t in rng.choice(choices, rng.integers(3, 14))]
        if i % 2:
            seq.insert(int(rng.integers(0, len(seq) + 1)), CUE)
        seqs.append(seq)
        labels.append(i % 2)
    return seqs, np.array(labels)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--every-steps", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--token-dropout", type=float, default=0.1)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--items", type=int, default=240)
    ap.add_argument("--lr", type=float, default=5e-3)
    args = ap.parse_args()

    torch.set_num_threads(1)
    ctx = init_distributed(device="cpu")  # gloo on the CPU, even beside one GPU
    seed_everything(7)
    seqs, labels = toy_data(args.items, 0)
    vseqs, vlabels = toy_data(80, 1)
    lengths = np.array([len(s) for s in seqs])

    def batches(idx_batches, s, y):
        return [(*collate(s, idx), torch.from_numpy(y[idx])) for idx in idx_batches]

    def train_batches(epoch: int):
        # the batch order draws from NumPy's *global* generator on purpose (see above)
        order = bucket_batches(lengths, args.batch_size, shuffle=True, seed=epoch)
        order = [order[i] for i in np.random.permutation(len(order))]
        return batches(order, seqs, labels)

    val = batches(bucket_batches(np.array([len(s) for s in vseqs]), 32), vseqs, vlabels)

    def step(model, batch):
        ids, lens, y = batch
        if model.training and args.token_dropout:
            keep = [random.random() >= args.token_dropout for _ in range(ids.numel())]
            ids = ids * torch.tensor(keep, device=ids.device).view_as(
                ids
            )  # dropped tokens become <pad>
        logits = model(ids, lens)
        return F.cross_entropy(logits, y), float((logits.argmax(1) == y).sum()), float(len(y))

    cfg = ModelConfig(cell="lstm", hidden_size=12, num_layers=2, dropout=args.dropout)
    net = SequenceClassifier(cfg, vocab_size=VOCAB, embedding_dim=8, num_classes=2)
    training = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_decay=0.8,
        patience=10,
        seed=7,
        threads=1,
        checkpoint_every_steps=args.every_steps,
        checkpoint_every_s=0,
        device="cpu",  # gloo on the CPU even where a GPU is visible (one GPU, two processes)
    )
    try:
        history = fit(
            net,
            train_batches,
            val,
            step,
            training,
            checkpoint_dir=args.out / "checkpoints",
            progress=False,
            resume=args.resume,
            run_fingerprint={"data": "toy", "n": args.items},
        )
    except RnnlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if ctx.is_main:
        from safetensors.torch import save_file

        save_file(
            {k: v.contiguous() for k, v in net.state_dict().items()},
            str(args.out / "final.safetensors"),
        )
        (args.out / "history.json").write_text(
            json.dumps(
                {
                    "epochs": history.epochs,
                    "best_epoch": history.best_epoch,
                    "world_size": history.world_size,
                    "resumed_from": history.resumed_from,
                }
            )
        )
    shutdown_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
