"""Spanish dates written in words -> ISO dates: a built-in seq2seq corpus.

A small translation task where the input and the output have different
lengths (the guide's N != M configuration) and every answer can be checked::

    >>> from rnnlab.data.dates import generate_dates
    >>> generate_dates(2, seed=0)  # doctest: +SKIP
    [('el sábado, veintiocho de noviembre de dos mil veintiséis', '2026-11-28'), ...]

Surface forms vary, all drawn from one seeded ``random.Random``:

- an optional lead: ``el``, a weekday (``sábado, ``, ``el sábado ``) — the
  weekday always agrees with the date (``datetime.date.weekday``);
- the day in words (``veintidós``, ``treinta y uno``; the 1st also as
  ``primero``) or, sometimes, in digits (``28``);
- the month name, then ``de`` + year or ``del año`` + year;
- the year 1900-2099 in words (``mil novecientos noventa y nueve``,
  ``dos mil``, ``dos mil veintiséis``) or, sometimes, in digits;
- lower case, a capital first letter, or upper case.

Only valid calendar dates are produced (29 February only in leap years).
"""

from __future__ import annotations

import datetime as dt
import random

from rnnlab.errors import RnnlabError

__all__ = [
    "MONTHS",
    "WEEKDAYS",
    "date_splits",
    "date_to_words",
    "generate_dates",
    "number_words",
]

MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
# Index = datetime.date.weekday(): Monday is 0.
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")

_UNITS = (
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
    "quince dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós "
    "veintitrés veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve"
).split()
_TENS = {
    30: "treinta",
    40: "cuarenta",
    50: "cincuenta",
    60: "sesenta",
    70: "setenta",
    80: "ochenta",
    90: "noventa",
}
_HUNDREDS = {
    1: "ciento",
    2: "doscientos",
    3: "trescientos",
    4: "cuatrocientos",
    5: "quinientos",
    6: "seiscientos",
    7: "setecientos",
    8: "ochocientos",
    9: "novecientos",
}


def number_words(n: int) -> str:
    """Spanish cardinal of ``0 <= n <= 9999`` as used in dates.

    ``uno`` stays full (``dos mil veintiuno``, ``treinta y uno de mayo``), 16-29
    are one word with their accents (``dieciséis``, ``veintidós``,
    ``veintitrés``, ``veintiséis``), 31-99 are ``treinta y uno`` .. ``noventa y
    nueve``, 100 is ``cien``, 1000 is ``mil`` (never ``un mil``).
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 9999:
        raise RnnlabError(f"n must be an integer in [0, 9999], got {n!r}")
    if n < 30:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens * 10] + (f" y {_UNITS[unit]}" if unit else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        if n == 100:
            return "cien"
        return _HUNDREDS[hundreds] + (f" {number_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    head = "mil" if thousands == 1 else f"{number_words(thousands)} mil"
    return head + (f" {number_words(rest)}" if rest else "")


def date_to_words(
    date: dt.date,
    *,
    weekday: str = "",
    article: bool = False,
    first_as_primero: bool = False,
    day_digits: bool = False,
    year_digits: bool = False,
    del_ano: bool = False,
    case: str = "lower",
) -> str:
    """One surface form of ``date``, e.g. ``"el sábado, 28 de noviembre del año dos mil veintiséis"``.

    Parameters
    ----------
    weekday : {"", "comma", "plain"}
        No weekday, ``"sábado, 28 ..."`` or ``"sábado 28 ..."``.
    article : bool
        Lead with ``el`` (before the weekday when there is one).
    first_as_primero : bool
        Write day 1 as ``primero`` instead of ``uno``.
    day_digits, year_digits : bool
        Write the day / the year in digits instead of words.
    del_ano : bool
        ``... de noviembre del año dos mil ...`` instead of ``... de noviembre de dos mil ...``.
    case : {"lower", "capitalized", "upper"}
    """
    if not 1900 <= date.year <= 2099:
        raise RnnlabError(f"date.year must be in 1900-2099, got {date.year}")
    if date.day == 1 and first_as_primero and not day_digits:
        day = "primero"
    else:
        day = str(date.day) if day_digits else number_words(date.day)
    year = str(date.year) if year_digits else number_words(date.year)
    text = f"{day} de {MONTHS[date.month - 1]} {'del año' if del_ano else 'de'} {year}"
    name = WEEKDAYS[date.weekday()]
    if weekday == "comma":
        text = f"{name}, {text}"
    elif weekday == "plain":
        text = f"{name} {text}"
    elif weekday:
        raise RnnlabError(f"weekday must be '', 'comma' or 'plain', got {weekday!r}")
    if article:
        text = f"el {text}"
    if case == "capitalized":
        text = text[0].upper() + text[1:]
    elif case == "upper":
        text = text.upper()
    elif case != "lower":
        raise RnnlabError(f"case must be lower, capitalized or upper, got {case!r}")
    return text


_FIRST = dt.date(1900, 1, 1).toordinal()
_LAST = dt.date(2099, 12, 31).toordinal()


def _random_form(rng: random.Random) -> tuple[str, str]:
    date = dt.date.fromordinal(rng.randint(_FIRST, _LAST))
    weekday = rng.choices(["", "comma", "plain"], weights=[6, 3, 1])[0]
    source = date_to_words(
        date,
        weekday=weekday,
        article=rng.random() < 0.3,
        first_as_primero=rng.random() < 0.5,
        day_digits=rng.random() < 0.15,
        year_digits=rng.random() < 0.1,
        del_ano=rng.random() < 0.25,
        case=rng.choices(["lower", "capitalized", "upper"], weights=[6, 3, 1])[0],
    )
    return source, date.isoformat()


def generate_dates(
    n: int, seed: int = 0, exclude: set[str] | frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """``n`` distinct (Spanish date in words, ISO date) pairs from ``seed``.

    Parameters
    ----------
    n : int
        Number of pairs (sources are distinct).
    seed : int
        Same seed, same pairs.
    exclude : set of str
        Source strings never to produce, e.g. a training set's, so that a
        held-out set shares no source with it.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RnnlabError(f"n must be an integer >= 1, got {n!r}")
    rng = random.Random(seed)
    seen = set(exclude)
    out: list[tuple[str, str]] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 1000:  # pragma: no cover - the space holds millions of forms
            raise RnnlabError(f"could not draw {n} distinct dates; ask for fewer")
        source, target = _random_form(rng)
        if source not in seen:
            seen.add(source)
            out.append((source, target))
    return out


def date_splits(
    n_train: int, n_test: int, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A training set and a held-out set whose source strings never overlap."""
    train = generate_dates(n_train, seed)
    test = generate_dates(n_test, seed + 1_000_003, exclude={s for s, _ in train})
    return train, test
