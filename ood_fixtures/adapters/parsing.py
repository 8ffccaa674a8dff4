"""Answer parsing: a generative model's free-text reply to the study's multiple-choice question -> one label.

The question (prompts.multiple_choice_question) asks for "Answer Choice: <option>" (or "<letter>" when lettered),
but models decorate the answer ([red circle], **red circle**, "red circle."), change case, write folder-style
labels in natural text ("airport hangar" for airport_hangar) and explain themselves. A reply that names no label,
or several without one being clearly the answer, parses to None and counts as wrong: guessing would credit a
model for hedging.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Iterator, Sequence

from ood_fixtures.adapters.prompts import ANSWER_PREFIX, LETTERS


def _normalize(text: str) -> str:
    # NFKC folds full-width and compatibility forms (ＢＢ -> BB) and casefold is case-insensitivity that also
    # covers non-ASCII; underscores become spaces so folder-style labels and natural text compare equal.
    return unicodedata.normalize("NFKC", text).casefold().replace("_", " ")


# "Answer Choice:", tolerant of spacing and of markdown around the colon ("**Answer Choice**: ...").
_PREFIX = re.compile(r"(?<!\w)" + r"\s*".join(map(re.escape, _normalize(ANSWER_PREFIX).rstrip(":").split()))
                     + r"\W*?:")  # fmt: skip
# What may follow a label (or letter) that stands alone as the answer: the end, a line break, or closing
# punctuation that does not run into a word ("red circle." and "[red circle]" but not "red circle's").
_STANDS_ALONE = re.compile(r"[^\S\n]*(?:[.!:)\]\"'*”’-](?!\w)|\n|$)")
# A letter answer: "B", "(B)", "B.", "b)", "**B**" -- but not the article in "A red circle" nor "I'm ...".
_LETTER = re.compile(r"\W*([a-z])(?=" + _STANDS_ALONE.pattern + ")")
_LEADING_DECORATION = re.compile(r"\W*")


# Words and single punctuation marks: where a label may start, and how labels are looked up by their first one.
_TOKEN = re.compile(r"\w+|[^\w\s]")
# Per label form: a pattern, and the labels that have that form. Grouped by the form's first token, longest first.
_Index = dict[str, list[tuple[re.Pattern[str], list[str]]]]


@functools.lru_cache(maxsize=16)  # a benchmark asks the same label set thousands of times
def _index(labels: tuple[str, ...]) -> _Index:
    """Patterns for the natural forms of the labels, found by the first token of the form.

    Patterns match on word boundaries (so "cat" is not found in "category", nor "1" in "10") and accept any
    whitespace between words. Two different labels with the same form (`a_b`, `a b`) cannot be told apart: both
    own it. Looking candidates up by token keeps a 1000-class label set fast (one regex alternation of 1000
    labels, tried at every word, is not).
    """
    owners: dict[str, list[str]] = {}
    for label in labels:
        form = " ".join(_normalize(label).split())
        if form and label not in owners.setdefault(form, []):
            owners[form].append(label)
    index: _Index = {}
    for form in sorted(owners, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, form.split())) + r"(?!\w)")
        index.setdefault(_TOKEN.match(form).group(), []).append((pattern, owners[form]))
    return index


def _mentions(segment: str, index: _Index, start: int = 0) -> Iterator[tuple[int, int, list[str]]]:
    """(start, end, labels) of the longest label form at each token of the segment, in order."""
    for token in _TOKEN.finditer(segment, start):
        for pattern, names in index.get(token.group(), ()):
            found = pattern.match(segment, token.start())
            if found:
                yield found.start(), found.end(), names
                break


def _named(segment: str, index: _Index) -> set[str]:
    """The labels the segment mentions, less those only found inside a longer mention.

    This is the longest-match rule: the study's own parser read "airport_hangar" as "airport" because it took
    the first label that matched; here "airport" inside "airport hangar" does not count as a mention.
    """
    named: set[str] = set()
    reach = -1  # mentions come by start; one lies inside another exactly when an earlier one reaches as far
    for _, end, names in _mentions(segment, index):
        if end > reach:
            named.update(names)
            reach = end
    return named


def _leading(segment: str, index: _Index) -> list[str] | None:
    """The labels of the longest form the segment opens with, if it stands alone there; else None.

    "[red circle] because it is not a blue square" answers red circle although it names both.
    """
    start = _LEADING_DECORATION.match(segment).end()
    first = next(_mentions(segment, index, start), None)
    if first and first[0] == start and _STANDS_ALONE.match(segment, first[1]):
        return first[2]
    return None


def _read(segment: str, index: _Index, labels: Sequence[str], lettered: bool) -> tuple[bool, str | None]:
    """(whether the segment answers at all, i.e. names a label or a letter; the label it answers, or None)."""
    named = _named(segment, index)
    leading = _leading(segment, index)
    candidates = leading if leading is not None else named
    name = next(iter(candidates)) if len(candidates) == 1 else None
    if lettered:
        letter = _LETTER.match(segment)
        if letter:
            option = LETTERS.lower().index(letter.group(1))
            if option >= len(labels):
                return True, None  # an option the question did not list
            # "A. red circle" is fine; a letter that disagrees with the name it is given with is not an answer.
            return True, labels[option] if name is None or name == labels[option] else None
    return bool(named), name


def parse_answer(text: str | None, labels: Sequence[str], lettered: bool = False) -> str | None:
    """The label the answer names, or None (unparsed: it counts as wrong)."""
    if not isinstance(text, str) or not text or not labels:
        return None
    index = _index(tuple(labels))
    normal = _normalize(text)
    prefixes = list(_PREFIX.finditer(normal))
    if prefixes:
        # The answer proper follows the last prefix (earlier ones may be the model echoing the question's
        # format); when it names anything, it decides, even if that is "several labels" (None).
        answered, label = _read(normal[prefixes[-1].end():], index, labels, lettered)
        if answered:
            return label
    # No prefix, or nothing after it: the whole reply, less the prefixes (a label "choice" is not read from them).
    return _read(_PREFIX.sub(" ", normal), index, labels, lettered)[1]
