"""IPTC ``plus:DataMining`` in XMP, and what each PLUS term reserves (standards.md §8.5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scrapy_optout._core import rules
from scrapy_optout._core.iptc import PLUS_NAMESPACES, VOCAB, data_mining
from scrapy_optout._core.models import Verdict
from scrapy_optout._core.xmp import Xmp, read_xmp
from tests.embedded_files import PLUS_NS, PLUS_VOCAB, xmp_packet

PURPOSES = ("train-ai", "ai-input", "tdm", "search")
R, A, U = Verdict.RESERVED, Verdict.ALLOW, Verdict.UNKNOWN
# What each term says for train-ai, ai-input, tdm, search (standards.md §8.5 [I], rules.py):
# -GENAIMLTRAINING reserves our train-ai (which covers generative training); the -SEE… terms
# prohibit unless a constraint we cannot read allows, so they reserve everything.
TERMS = {
    "DMI-UNSPECIFIED": (U, U, U, U),
    "DMI-ALLOWED": (A, A, A, A),
    "DMI-PROHIBITED-AIMLTRAINING": (R, U, U, U),
    "DMI-PROHIBITED-GENAIMLTRAINING": (R, U, U, U),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": (R, R, R, U),
    "DMI-PROHIBITED": (R, R, R, R),
    "DMI-PROHIBITED-SEECONSTRAINT": (R, R, R, R),
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": (R, R, R, R),
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": (R, R, R, R),
}
CASES = [
    (term, purpose, said[k]) for term, said in TERMS.items() for k, purpose in enumerate(PURPOSES)
]


def plus(*values: str, constraints: tuple[str, ...] = ()) -> Xmp:
    """An Xmp with these plus:DataMining and plus:OtherConstraints values."""
    properties = {(PLUS_NS, "DataMining"): values}
    if constraints:
        properties[(PLUS_NS, "OtherConstraints")] = constraints
    return Xmp(properties)


def verdict_of(xmp: Xmp, purpose: str) -> tuple[Verdict, str, list[str]]:
    """The packet's verdict for *purpose*, through data_mining and iptc_verdict."""
    terms, _ = data_mining(xmp)
    return rules.iptc_verdict(terms, purpose)


def expected(verdict: Verdict, term: str) -> tuple[Verdict, str, list[str]]:
    return verdict, "" if verdict is U else term, []


def test_the_table_is_the_nine_terms_of_the_vocabulary() -> None:
    """IPTC_RESERVES knows exactly the nine DMI terms of §8.5, and the namespaces are PLUS's."""
    assert set(rules.IPTC_RESERVES) == set(TERMS)
    assert PLUS_NAMESPACES == (PLUS_NS,)
    assert VOCAB == PLUS_VOCAB


@pytest.mark.parametrize(("term", "purpose", "verdict"), CASES)
@pytest.mark.parametrize("form", ["element", "attribute", "resource"])
def test_each_term_for_each_purpose_in_a_real_packet(
    term: str, purpose: str, verdict: Verdict, form: str
) -> None:
    """A packet's URI-form term gives the table's verdict for each purpose, in every XMP form."""
    packet = xmp_packet(
        data_mining=term,
        form="attribute" if form == "attribute" else "element",
        data_mining_resource=form == "resource",
    )
    assert data_mining(read_xmp(packet)) == ((term,), "")
    assert verdict_of(read_xmp(packet), purpose) == expected(verdict, term)


@pytest.mark.parametrize(("term", "purpose", "verdict"), CASES)
def test_bare_id_form(term: str, purpose: str, verdict: Verdict) -> None:
    """A bare ``DMI-…`` identifier (some writers) reads as the URI form does."""
    assert data_mining(plus(term)) == ((term,), "")
    assert verdict_of(plus(term), purpose) == expected(verdict, term)


@pytest.mark.parametrize("term", list(TERMS))
@pytest.mark.parametrize("spell", [str.lower, str.title], ids=["lower", "title"])
def test_case_of_the_term_does_not_matter(term: str, spell: Callable[[str], str]) -> None:
    """A lower-case (or mixed-case) term, bare or after the vocabulary URI, is the same term."""
    written = spell(term)
    for value in (written, VOCAB + written):
        assert data_mining(plus(value)) == ((term,), "")
    assert verdict_of(plus(written), "train-ai") == expected(TERMS[term][0], term)


@pytest.mark.parametrize(
    ("value", "reported"),
    [("DMI-MAYBE", "DMI-MAYBE"), ("dmi-allowed-sometimes", "DMI-ALLOWED-SOMETIMES"), ("yes", "YES"),
     ("http://example.com/vocab/DMI-PROHIBITED", "HTTP://EXAMPLE.COM/VOCAB/DMI-PROHIBITED"),
     (VOCAB + "DMI-PROHIBITED-NEVER", "DMI-PROHIBITED-NEVER")],
)  # fmt: skip
def test_unknown_term_is_an_error_and_says_nothing(value: str, reported: str) -> None:
    """A term outside the vocabulary is an ``iptc.unknown_term`` error and leaves it unknown."""
    for purpose in PURPOSES:
        verdict, term, errors = verdict_of(plus(value), purpose)
        assert (verdict, term) == (U, "")
        assert errors == [f"iptc.unknown_term: {reported}"]


def test_unknown_term_next_to_a_known_one() -> None:
    """An unknown term is reported while a known one still decides."""
    assert verdict_of(plus("DMI-SOMEDAY", "DMI-PROHIBITED"), "search") == (
        R,
        "DMI-PROHIBITED",
        ["iptc.unknown_term: DMI-SOMEDAY"],
    )


def test_long_unknown_term_is_cut_in_the_error() -> None:
    """The error quotes at most 60 characters of a hostile term."""
    _, _, errors = verdict_of(plus("X" * 1000), "train-ai")
    assert errors == ["iptc.unknown_term: " + "X" * 60]


@pytest.mark.parametrize(
    ("terms", "purpose", "result"),
    [
        (("DMI-ALLOWED", "DMI-PROHIBITED"), "search", (R, "DMI-PROHIBITED")),
        (("DMI-PROHIBITED", "DMI-ALLOWED"), "search", (R, "DMI-PROHIBITED")),
        (("DMI-ALLOWED", "DMI-PROHIBITED-AIMLTRAINING"), "train-ai",
         (R, "DMI-PROHIBITED-AIMLTRAINING")),
        (("DMI-ALLOWED", "DMI-PROHIBITED-AIMLTRAINING"), "ai-input", (A, "DMI-ALLOWED")),
        (("DMI-UNSPECIFIED", "DMI-ALLOWED"), "tdm", (A, "DMI-ALLOWED")),
        (("DMI-UNSPECIFIED", "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING"), "tdm",
         (R, "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING")),
        (("DMI-PROHIBITED-AIMLTRAINING", "DMI-PROHIBITED"), "train-ai",
         (R, "DMI-PROHIBITED-AIMLTRAINING")),
        (("DMI-UNSPECIFIED", "DMI-UNSPECIFIED"), "train-ai", (U, "")),
        ((), "train-ai", (U, "")),
    ],
)  # fmt: skip
def test_most_restrictive_term_wins(
    terms: tuple[str, ...], purpose: str, result: tuple[Verdict, str]
) -> None:
    """Of several terms, a reservation beats a permission, which beats silence."""
    verdict, term, errors = verdict_of(plus(*terms), purpose)
    assert (verdict, term) == result
    assert errors == []


def test_several_terms_in_a_bag_of_a_real_packet() -> None:
    """Terms in an ``rdf:Bag`` are all read, and the most restrictive wins."""
    packet = xmp_packet(data_mining="DMI-ALLOWED").replace(
        f"<plus:DataMining>{PLUS_VOCAB}DMI-ALLOWED</plus:DataMining>".encode(),
        b"<plus:DataMining><rdf:Bag><rdf:li>DMI-ALLOWED</rdf:li>"
        b"<rdf:li>DMI-PROHIBITED-GENAIMLTRAINING</rdf:li></rdf:Bag></plus:DataMining>",
    )
    terms, _ = data_mining(read_xmp(packet))
    assert terms == ("DMI-ALLOWED", "DMI-PROHIBITED-GENAIMLTRAINING")
    assert rules.iptc_verdict(terms, "train-ai")[:2] == (R, "DMI-PROHIBITED-GENAIMLTRAINING")


@pytest.mark.parametrize("value", ["", VOCAB])
def test_empty_value_is_no_term(value: str) -> None:
    """An empty value, or the vocabulary URI with no term, gives no term and no error."""
    assert data_mining(plus(value)) == ((), "")
    assert verdict_of(plus(value), "train-ai") == (U, "", [])


def test_no_data_mining_property() -> None:
    """A packet without plus:DataMining gives no terms, and says nothing."""
    xmp = read_xmp(xmp_packet(tdm_reservation="1"))
    assert data_mining(xmp) == ((), "")
    assert verdict_of(xmp, "train-ai") == (U, "", [])


def test_data_mining_in_another_namespace_is_not_read() -> None:
    """Only the PLUS namespace counts, whatever the local name."""
    xmp = Xmp({("http://example.com/plus/", "DataMining"): ("DMI-PROHIBITED",)})
    assert data_mining(xmp) == ((), "")


def test_other_constraints_are_returned() -> None:
    """plus:OtherConstraints, which the -SEECONSTRAINT term points at, comes back as text."""
    text = "No AI training without a licence from us"
    packet = xmp_packet(data_mining="DMI-PROHIBITED-SEECONSTRAINT", other_constraints=text)
    assert data_mining(read_xmp(packet)) == (("DMI-PROHIBITED-SEECONSTRAINT",), text)


@pytest.mark.parametrize(
    ("constraints", "text"),
    [(("a", "b"), "a; b"), (("x" * 300,), "x" * 200), (("",), "")],
)
def test_other_constraints_joined_and_cut(constraints: tuple[str, ...], text: str) -> None:
    """Several OtherConstraints values are joined with '; ' and cut to 200 characters."""
    assert data_mining(plus("DMI-PROHIBITED", constraints=constraints)) == (
        ("DMI-PROHIBITED",),
        text,
    )
