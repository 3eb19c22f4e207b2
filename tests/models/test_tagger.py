"""SequenceTagger: shapes, padding never matters, masked loss, word dropout, config checks."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.models.tagger import IGNORE, CharEncoder, SequenceTagger, TaggerConfig, tagging_step

V, N_CHARS, C = 30, 20, 5


def small(**kw) -> TaggerConfig:
    base = dict(hidden_size=8, word_dim=6, char_dim=4, char_features=6, dropout=0.0)
    return TaggerConfig(**{**base, **kw})


def random_sentence(gen: torch.Generator, length: int, word_len: int = 6):
    words = torch.randint(2, V, (length,), generator=gen)  # (T,)
    chars = torch.zeros(length, word_len, dtype=torch.long)  # (T, L)
    for t in range(length):
        n = int(torch.randint(1, word_len + 1, (1,), generator=gen))
        chars[t, :n] = torch.randint(1, N_CHARS, (n,), generator=gen)
    return words, chars


def batch_of(sentences, pad_to: int | None = None, word_len: int | None = None):
    """Post-pad sentences; extra padding (longer T and L) is filled with junk ids."""
    t = pad_to or max(len(w) for w, _ in sentences)
    wl = word_len or max(c.shape[1] for _, c in sentences)
    n = len(sentences)
    words = torch.full((n, t), 7, dtype=torch.long)  # junk in padded positions
    chars = torch.zeros(n, t, wl, dtype=torch.long)
    chars[:, :, 0] = 3  # junk characters in padded positions
    for i, (w, c) in enumerate(sentences):
        words[i, : len(w)] = w
        chars[i, : len(w)] = 0
        chars[i, : len(w), : c.shape[1]] = c
    lengths = torch.tensor([len(w) for w, _ in sentences])
    return words, lengths, chars


@pytest.mark.parametrize(
    "cfg",
    [
        small(),
        small(char_encoder="lstm"),
        small(cell="gru", num_layers=2),
        small(cell="rnn", char=False),
        small(bidirectional=False),
    ],
    ids=["lstm-cnn", "lstm-charlstm", "gru-2layers", "rnn-nochar", "unidirectional"],
)
def test_shapes_and_padding_never_changes_a_sentences_logits(cfg: TaggerConfig) -> None:
    torch.manual_seed(0)
    net = SequenceTagger(cfg, V, N_CHARS, C).eval()
    gen = torch.Generator().manual_seed(1)
    sents = [random_sentence(gen, n) for n in (3, 7, 1, 5)]
    words, lengths, chars = batch_of(sents)
    with torch.no_grad():
        together = net(words, lengths, chars)  # (N, T, C)
        assert together.shape == (4, 7, C)
        for i, s in enumerate(sents):
            # alone, and alone with much more padding (time and characters) of junk ids
            for pad_to, word_len in ((None, None), (12, 15)):
                w1, l1, c1 = batch_of([s], pad_to, word_len)
                alone = net(w1, l1, c1)[0, : len(s[0])]
                torch.testing.assert_close(alone, together[i, : len(s[0])], atol=1e-5, rtol=1e-4)


def test_masked_loss_ignores_padding_and_equals_the_per_token_mean() -> None:
    torch.manual_seed(0)
    net = SequenceTagger(small(), V, N_CHARS, C).eval()
    gen = torch.Generator().manual_seed(2)
    sents = [random_sentence(gen, n) for n in (2, 6)]
    words, lengths, chars = batch_of(sents)
    tags = torch.full(words.shape, IGNORE)
    tags[0, :2] = torch.tensor([1, 2])
    tags[1, :6] = torch.tensor([0, 1, 2, 3, 4, 0])
    loss, correct, n = tagging_step(net, (words, lengths, chars, tags))
    assert n == 8.0
    with torch.no_grad():
        logits = net(words, lengths, chars)
    per_token = [
        torch.nn.functional.cross_entropy(logits[i, : int(lengths[i])], tags[i, : int(lengths[i])])
        * int(lengths[i])
        for i in range(2)
    ]
    torch.testing.assert_close(loss.detach(), sum(per_token) / 8)
    pred = logits.argmax(-1)
    assert correct == float(
        sum((pred[i, : int(lengths[i])] == tags[i, : int(lengths[i])]).sum() for i in range(2))
    )
    # junk ids in the padded positions change nothing
    words2 = words.clone()
    words2[0, 2:] = 11
    loss2, correct2, _ = tagging_step(net, (words2, lengths, chars, tags))
    torch.testing.assert_close(loss2, loss)
    assert correct2 == correct


def test_word_dropout_acts_only_in_training_and_repeats_with_the_seed() -> None:
    torch.manual_seed(0)
    net = SequenceTagger(small(char=False, word_dropout=0.5), V, N_CHARS, C)
    seen = []
    net.embedding.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0].clone()))
    words = torch.randint(2, V, (4, 9))
    lengths = torch.full((4,), 9)
    net.eval()
    net(words, lengths)
    assert torch.equal(seen[-1], words)  # eval: untouched
    net.train()
    torch.manual_seed(5)
    net(words, lengths)
    dropped = seen[-1]
    assert torch.all((dropped == words) | (dropped == 1))  # only ever replaced by <unk>
    assert 0.2 < float((dropped == 1).float().mean()) < 0.8  # about half of 36 words
    torch.manual_seed(5)
    net(words, lengths)
    assert torch.equal(seen[-1], dropped)


def test_char_encoder_ignores_the_padded_width() -> None:
    torch.manual_seed(0)
    for kind in ("cnn", "lstm"):
        enc = CharEncoder(N_CHARS, kind, 4, 6).eval()
        chars = torch.tensor([[3, 4, 5, 0], [6, 0, 0, 0]])
        wider = torch.cat([chars, torch.zeros(2, 5, dtype=torch.long)], dim=1)
        with torch.no_grad():
            torch.testing.assert_close(enc(chars), enc(wider))
            assert enc(chars).shape == (2, 6)


def test_missing_chars_is_a_clear_error() -> None:
    net = SequenceTagger(small(), V, N_CHARS, C)
    with pytest.raises(ValueError, match="pass chars"):
        net(torch.ones(1, 2, dtype=torch.long), torch.tensor([2]))


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"cell": "transformer"}, "model.cell"),
        ({"char_encoder": "rnn"}, "model.char_encoder"),
        ({"word_dropout": 1.0}, "model.word_dropout"),
        ({"char_features": 7}, "model.char_features"),
        ({"hidden_size": 0}, "model.hidden_size"),
    ],
)
def test_config_rejects_bad_values(kw, needle) -> None:
    with pytest.raises(RnnlabError, match=needle):
        TaggerConfig(**kw)


def test_config_round_trips_and_rejects_unknown_keys() -> None:
    cfg = small(cell="gru")
    assert TaggerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(RnnlabError, match="unknown TaggerConfig key"):
        TaggerConfig.from_dict({"hiden_size": 3})
