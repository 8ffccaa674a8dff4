import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ood_fixtures.adapters.parsing import parse_answer
from ood_fixtures.adapters.prompts import LETTERS, multiple_choice_question, natural

SHAPES = ["red_circle", "blue_square", "green_triangle"]
PLACES = ["airport", "airport_hangar", "airport_terminal", "cat", "category"]
DIGITS = [str(d) for d in range(10)]

CASES = [
    # The study's format, decorated in the ways models decorate it.
    ("Answer Choice: red circle", SHAPES, False, "red_circle"),
    ("Answer Choice: [red circle]", SHAPES, False, "red_circle"),
    ("Answer Choice: 'red circle'", SHAPES, False, "red_circle"),
    ('Answer Choice: "red circle"', SHAPES, False, "red_circle"),
    ("Answer Choice: “red circle”", SHAPES, False, "red_circle"),
    ("Answer Choice: red circle.", SHAPES, False, "red_circle"),
    ("**Answer Choice:** **red circle**", SHAPES, False, "red_circle"),
    ("**Answer Choice**: Red Circle", SHAPES, False, "red_circle"),
    ("ANSWER CHOICE:   RED    CIRCLE  ", SHAPES, False, "red_circle"),
    ("answer choice:red circle", SHAPES, False, "red_circle"),
    ("Answer Choice: Ｒｅｄ Ｃｉｒｃｌｅ", SHAPES, False, "red_circle"),  # full-width (NFKC)
    ("Looking at the image carefully.\nAnswer Choice: blue square\nThanks!", SHAPES, False, "blue_square"),
    # Bare labels, natural text vs folder-style, case.
    ("red circle", SHAPES, False, "red_circle"),
    ("red_circle", SHAPES, False, "red_circle"),
    ("Blue_Square", SHAPES, False, "blue_square"),
    ("The image shows a green triangle.", SHAPES, False, "green_triangle"),
    ("airport hangar", ["airport hangar", "airport"], False, "airport hangar"),  # label with spaces, answer too
    ("airport_hangar", ["airport hangar", "airport"], False, "airport hangar"),  # label with spaces, answer not
    # Labels that are prefixes of others: the longest word-bounded match.
    ("airport hangar", PLACES, False, "airport_hangar"),
    ("Answer Choice: airport_hangar", PLACES, False, "airport_hangar"),
    ("airport", PLACES, False, "airport"),
    ("Answer Choice: Airport.", PLACES, False, "airport"),
    ("airport terminal", PLACES, False, "airport_terminal"),
    ("It is an airport terminal.", PLACES, False, "airport_terminal"),
    ("red circle area", ["red_circle", "circle_area"], False, None),  # overlapping, neither inside the other
    ("it is 1.5", ["1", "5", "1.5"], False, "1.5"),
    ("cat", ["cat", "cat", "dog"], False, "cat"),  # a repeated label is still one label
    ("a b", ["a_b", "a b"], False, None),  # two labels with one natural form cannot be told apart
    # Word boundaries.
    ("category", PLACES, False, "category"),
    ("Answer Choice: categorical", PLACES, False, None),
    ("a cat", PLACES, False, "cat"),
    ("airports", PLACES, False, None),
    ("Answer Choice: 1", DIGITS, False, "1"),
    ("Answer Choice: 10", DIGITS, False, None),
    ("7", DIGITS, False, "7"),
    ("The digit is 7.", DIGITS, False, "7"),
    # The last prefix decides; earlier text and echoed formats do not.
    ("Not a blue square. Answer Choice: red circle", SHAPES, False, "red_circle"),
    ("Answer Choice: blue square. Wait, no.\nAnswer Choice: green triangle", SHAPES, False, "green_triangle"),
    ("Answer in the format 'Answer Choice: <option>'. Answer Choice: blue square", SHAPES, False, "blue_square"),
    ("It looks like a red circle.\nAnswer Choice:", SHAPES, False, "red_circle"),  # nothing after: whole text
    ("I see a red circle.\nAnswer Choice: none of these", SHAPES, False, "red_circle"),
    # Several labels and none clearly the answer: None rather than a guess.
    ("red circle or blue square", SHAPES, False, None),
    ("It could be a red circle or a blue square.", SHAPES, False, None),
    ("Answer Choice: red circle, blue square", SHAPES, False, None),
    ("Red circle. Answer Choice: red circle or blue square", SHAPES, False, None),
    # ... but a label that stands alone first in the answer is the answer.
    ("Answer Choice: [red circle] because it is not a blue square", SHAPES, False, "red_circle"),
    ("Answer Choice: red circle\nIt cannot be a blue square.", SHAPES, False, "red_circle"),
    ("Answer Choice: red circle's shape or blue square", SHAPES, False, None),
    # No label at all.
    ("", SHAPES, False, None),
    (None, SHAPES, False, None),
    ("I don't know.", SHAPES, False, None),
    ("Answer Choice: purple hexagon", SHAPES, False, None),
    ("red circle", [], False, None),
    ("B", SHAPES, False, None),  # a letter only counts when the question was lettered
    # Lettered questions.
    ("Answer Choice: B", SHAPES, True, "blue_square"),
    ("B", SHAPES, True, "blue_square"),
    ("(B)", SHAPES, True, "blue_square"),
    ("B.", SHAPES, True, "blue_square"),
    ("b)", SHAPES, True, "blue_square"),
    ("**Answer Choice:** **C**", SHAPES, True, "green_triangle"),
    ("Answer Choice: [A]", SHAPES, True, "red_circle"),
    ("Answer Choice: A. red circle", SHAPES, True, "red_circle"),
    ("Answer Choice: A. blue square", SHAPES, True, None),  # letter and name disagree
    ("Answer Choice: D", SHAPES, True, None),  # beyond the options
    ("Z", SHAPES, True, None),
    ("Answer Choice: blue square", SHAPES, True, "blue_square"),  # the name is accepted too
    ("A red circle", SHAPES, True, "red_circle"),  # an article, not a letter
    ("I'm not sure, maybe a green triangle", SHAPES, True, "green_triangle"),
    ("I think so.", SHAPES, True, None),
    ("Answer Choice: airport hangar", PLACES, True, "airport_hangar"),
]


@pytest.mark.parametrize(("text", "labels", "lettered", "expected"), CASES)
def test_parse_answer(text, labels, lettered, expected):
    assert parse_answer(text, labels, lettered=lettered) == expected


def test_the_question_itself_parses_to_nothing():
    # A model that echoes the question has named every option and answered none.
    for lettered in (False, True):
        assert parse_answer(multiple_choice_question(SHAPES, lettered), SHAPES, lettered) is None


def test_long_text_is_handled():
    text = "cat " * 50_000 + "\nAnswer Choice: airport hangar"
    assert parse_answer(text, PLACES) == "airport_hangar"
    assert parse_answer("category " * 50_000, PLACES) == "category"


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
LABEL = st.lists(WORD, min_size=1, max_size=3).map("_".join)
LABELS = st.lists(LABEL, min_size=1, max_size=10, unique=True)


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(text=st.one_of(st.none(), st.text()), labels=st.lists(st.text(), max_size=10), lettered=st.booleans())
def test_never_raises(text, labels, lettered):
    result = parse_answer(text, labels, lettered=lettered)
    assert result is None or result in labels


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(labels=LABELS, data=st.data())
def test_natural_label_parses_back(labels, data):
    label = data.draw(st.sampled_from(labels))
    assert parse_answer(f"Answer Choice: {natural(label)}", labels) == label
    assert parse_answer(natural(label), labels) == label
    assert parse_answer(label.upper(), labels) == label


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(labels=LABELS, data=st.data())
def test_letter_parses_back(labels, data):
    # Single-letter labels would clash with letter answers ("Answer Choice: a" with an option "a" listed as B).
    labels = [label for label in labels if len(label) > 1]
    if labels:
        index = data.draw(st.integers(0, min(len(labels), len(LETTERS)) - 1))
        assert parse_answer(f"Answer Choice: {LETTERS[index]}", labels, lettered=True) == labels[index]
        assert parse_answer(f"({LETTERS[index].lower()})", labels, lettered=True) == labels[index]
