"""The Spanish date generator: number words, weekdays, valid dates, variety, held-out sets."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rnnlab.data.dates import (
    MONTHS,
    WEEKDAYS,
    date_splits,
    date_to_words,
    generate_dates,
    number_words,
)
from rnnlab.errors import RnnlabError

# Hand-checked against the RAE's spelling of cardinals.
HAND_CHECKED = {
    1: "uno",
    15: "quince",
    16: "dieciséis",
    21: "veintiuno",
    22: "veintidós",
    23: "veintitrés",
    26: "veintiséis",
    30: "treinta",
    31: "treinta y uno",
    100: "cien",
    101: "ciento uno",
    1900: "mil novecientos",
    1901: "mil novecientos uno",
    1999: "mil novecientos noventa y nueve",
    2000: "dos mil",
    2026: "dos mil veintiséis",
    2099: "dos mil noventa y nueve",
}


@pytest.mark.parametrize(("n", "words"), sorted(HAND_CHECKED.items()))
def test_number_words_hand_checked(n, words):
    assert number_words(n) == words


def test_full_form_of_a_known_saturday():
    date = dt.date(2026, 11, 28)
    assert date.weekday() == 5
    text = date_to_words(date, weekday="comma", article=True)
    assert text == "el sábado, veintiocho de noviembre de dos mil veintiséis"
    assert (
        date_to_words(dt.date(1999, 5, 1), first_as_primero=True, del_ano=True, case="capitalized")
        == "Primero de mayo del año mil novecientos noventa y nueve"
    )
    assert date_to_words(dt.date(2001, 1, 3), day_digits=True, year_digits=True) == (
        "3 de enero de 2001"
    )
    assert date_to_words(dt.date(2001, 1, 3), case="upper") == "TRES DE ENERO DE DOS MIL UNO"


_DAY = {number_words(d): d for d in range(1, 32)} | {"primero": 1}
_PATTERN = re.compile(
    r"^(?:el )?(?:(?P<wd>"
    + "|".join(WEEKDAYS)
    + r"),? )?(?P<day>.+?) de (?P<month>"
    + "|".join(MONTHS)
    + r") (?:de|del año) (?P<year>.+)$"
)


def _parse(source: str) -> tuple[dt.date, str | None]:
    """An independent reading of a generated source, for the property test."""
    m = _PATTERN.match(source.lower())
    assert m, source
    day = int(m["day"]) if m["day"].isdigit() else _DAY[m["day"]]
    year_words = {number_words(y): y for y in range(1900, 2100)}
    year = int(m["year"]) if m["year"].isdigit() else year_words[m["year"]]
    return dt.date(year, MONTHS.index(m["month"]) + 1, day), m["wd"]


def test_generated_pairs_are_consistent_valid_and_varied():
    pairs = generate_dates(1500, seed=3)
    assert len({s for s, _ in pairs}) == len(pairs)
    weekdays = 0
    for source, target in pairs:
        date, weekday = _parse(source)
        assert date.isoformat() == target
        assert 1900 <= date.year <= 2099
        if weekday is not None:
            weekdays += 1
            assert WEEKDAYS.index(weekday) == date.weekday(), source
    sources = [s for s, _ in pairs]
    assert 0.2 < weekdays / len(pairs) < 0.6
    for needle in ("primero", "del año", "el ", ", "):
        assert any(needle in s for s in sources), needle
    assert any(s[0].isupper() and not s.isupper() for s in sources)
    assert any(s.isupper() for s in sources)
    assert any(re.search(r"\d", s) for s in sources)
    assert any(not re.search(r"\d", s) for s in sources)


def test_leap_days_only_in_leap_years():
    pairs = generate_dates(3000, seed=1)
    for _, target in pairs:
        dt.date.fromisoformat(target)  # raises on 29 February of a common year


def test_same_seed_same_pairs_and_held_out_never_overlaps():
    assert generate_dates(50, seed=7) == generate_dates(50, seed=7)
    assert generate_dates(50, seed=7) != generate_dates(50, seed=8)
    train, test = date_splits(800, 300, seed=0)
    assert len(train) == 800 and len(test) == 300
    assert not {s for s, _ in train} & {s for s, _ in test}
    excluded = generate_dates(200, seed=5, exclude={s for s, _ in train})
    assert not {s for s, _ in excluded} & {s for s, _ in train}


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_counts_are_refused(bad):
    with pytest.raises(RnnlabError, match="n must be"):
        generate_dates(bad)


def test_out_of_range_inputs_are_refused():
    with pytest.raises(RnnlabError, match="1900-2099"):
        date_to_words(dt.date(1850, 1, 1))
    with pytest.raises(RnnlabError, match=r"\[0, 9999\]"):
        number_words(10000)
