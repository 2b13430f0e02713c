"""IPTC Photo Metadata 2023.1 "Data Mining" (``plus:DataMining``) in XMP (standards.md §8.5).

The value is a PLUS vocabulary term, written as its URI
(``http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING``) or, by some writers, as the bare
``DMI-…`` identifier; both are read. ``plus:OtherConstraints`` is kept for the record, since the
``…-SEECONSTRAINT`` terms point at it. What each term reserves is ``rules.IPTC_RESERVES``.
"""

from __future__ import annotations

from .xmp import Xmp

PLUS_NAMESPACES = ("http://ns.useplus.org/ldf/xmp/1.0/",)
VOCAB = "http://ns.useplus.org/ldf/vocab/"


def data_mining(xmp: Xmp) -> tuple[tuple[str, ...], str]:
    """The ``plus:DataMining`` terms (bare ``DMI-…`` identifiers) and ``plus:OtherConstraints``."""
    terms = []
    for value in xmp.values(PLUS_NAMESPACES, "DataMining"):
        term = value.removeprefix(VOCAB)
        if term:
            terms.append(term.upper())
    constraints = "; ".join(xmp.values(PLUS_NAMESPACES, "OtherConstraints"))[:200]
    return tuple(terms), constraints
