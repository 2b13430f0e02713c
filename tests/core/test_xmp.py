"""XMP packets read by namespace IRI in both RDF/XML forms, safely (ISO 16684-1, DESIGN §5.2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from scrapy_optout._core.xmp import EMPTY, MAX_PACKET_BYTES, MAX_VALUES, RDF, Xmp, read_xmp
from tests.embedded_files import (
    DC_NS,
    PLUS_NS,
    PLUS_VOCAB,
    RDF_NS,
    XMP_TDM_HASH,
    XMP_TDM_SLASH,
    xmp_packet,
)

POLICY = "https://example.com/tdm-policy.json"
TDM_SPELLINGS = (XMP_TDM_SLASH, XMP_TDM_HASH)
TERM = "DMI-PROHIBITED-AIMLTRAINING"


def packet(description: str, *, head: str = "") -> bytes:
    """A bare XMP packet around one ``rdf:Description`` (attributes and body in *description*)."""
    return (
        f'{head}<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF_NS}">'
        f"{description}</rdf:RDF></x:xmpmeta>"
    ).encode()


def check(xmp: Xmp) -> None:
    """The invariants every result keeps, whatever the input."""
    assert isinstance(xmp, Xmp)
    assert all(e.startswith("xmp.") for e in xmp.errors)
    for (namespace, name), values in xmp.properties.items():
        assert namespace != RDF
        assert isinstance(name, str)
        assert isinstance(values, tuple)
        assert len(values) <= MAX_VALUES
        assert all(isinstance(v, str) and v == v.strip() for v in values)


# --- the two RDF/XML forms --------------------------------------------------------------------


@pytest.mark.parametrize("form", ["element", "attribute"])
def test_simple_properties_in_both_forms(form: str) -> None:
    """A simple property is read as a child element's text or as a Description attribute."""
    xmp = read_xmp(xmp_packet(data_mining=TERM, tdm_reservation="1", tdm_policy=POLICY, form=form))
    check(xmp)
    assert xmp.errors == ()
    assert xmp.properties[(XMP_TDM_SLASH, "reservation")] == ("1",)
    assert xmp.properties[(XMP_TDM_SLASH, "policy")] == (POLICY,)
    assert xmp.properties[(PLUS_NS, "DataMining")] == (PLUS_VOCAB + TERM,)


def test_rdf_resource_attribute_is_the_value() -> None:
    """A property element with ``rdf:resource`` has that IRI as its value."""
    xmp = read_xmp(xmp_packet(data_mining=TERM, data_mining_resource=True))
    assert xmp.properties[(PLUS_NS, "DataMining")] == (PLUS_VOCAB + TERM,)


def test_language_alternative_gives_its_items() -> None:
    """The ``rdf:li`` items of an ``rdf:Alt`` are the values (dc:title, plus:OtherConstraints)."""
    xmp = read_xmp(xmp_packet(other_constraints="Ask first"))
    assert xmp.properties[(DC_NS, "title")] == ("Test image",)
    assert xmp.properties[(PLUS_NS, "OtherConstraints")] == ("Ask first",)


@pytest.mark.parametrize("container", ["Alt", "Bag", "Seq"])
def test_container_items_in_document_order(container: str) -> None:
    """Every ``rdf:li`` of an Alt, Bag or Seq is a value, in order, whitespace stripped."""
    items = "".join(f"<rdf:li> v{k} </rdf:li>" for k in range(3))
    xmp = read_xmp(
        packet(
            f'<rdf:Description xmlns:dc="{DC_NS}">'
            f"<dc:subject><rdf:{container}>{items}</rdf:{container}></dc:subject>"
            "</rdf:Description>"
        )
    )
    assert xmp.properties == {(DC_NS, "subject"): ("v0", "v1", "v2")}


def test_text_is_stripped() -> None:
    """A value's surrounding whitespace (packets are pretty-printed) is stripped."""
    xmp = read_xmp(
        packet(f'<rdf:Description xmlns:t="{XMP_TDM_SLASH}"><t:reservation>\n 1 \n</t:reservation>'
               '</rdf:Description>')
    )  # fmt: skip
    assert xmp.properties[(XMP_TDM_SLASH, "reservation")] == ("1",)


def test_rdf_attributes_are_not_properties() -> None:
    """``rdf:about`` and the RDF vocabulary itself are structure, not properties."""
    xmp = read_xmp(xmp_packet(tdm_reservation="1", form="attribute"))
    assert [key for key in xmp.properties if key[0] == RDF] == []
    assert (XMP_TDM_SLASH, "reservation") in xmp.properties


def test_every_description_is_read() -> None:
    """A packet split over several ``rdf:Description`` elements gives all their properties."""
    xmp = read_xmp(
        packet(
            f'<rdf:Description rdf:about="" xmlns:t="{XMP_TDM_SLASH}" t:reservation="1"/>'
            f'<rdf:Description rdf:about="" xmlns:t="{XMP_TDM_SLASH}" t:reservation="0"/>'
            f'<rdf:Description rdf:about="" xmlns:t="{XMP_TDM_SLASH}">'
            f"<t:policy>{POLICY}</t:policy></rdf:Description>"
        )
    )
    assert xmp.properties == {
        (XMP_TDM_SLASH, "reservation"): ("1", "0"),
        (XMP_TDM_SLASH, "policy"): (POLICY,),
    }


# --- namespaces, not prefixes -----------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["tdm", "t", "foo", "ns1", "x0"])
@pytest.mark.parametrize("form", ["element", "attribute"])
def test_any_prefix_bound_to_the_iri(prefix: str, form: str) -> None:
    """A property is found by its namespace IRI whatever prefix the packet binds to it."""
    if form == "attribute":
        body = f' {prefix}:reservation="1">'
    else:
        body = f"><{prefix}:reservation>1</{prefix}:reservation>"
    xmp = read_xmp(
        packet(f'<rdf:Description xmlns:{prefix}="{XMP_TDM_SLASH}"{body}</rdf:Description>')
    )
    assert xmp.properties == {(XMP_TDM_SLASH, "reservation"): ("1",)}


def test_the_usual_prefix_on_another_iri_does_not_count() -> None:
    """``tdm:`` bound to some other IRI is not TDMRep: the prefix alone means nothing."""
    xmp = read_xmp(xmp_packet(tdm_reservation="1", tdm_ns="http://example.com/not-tdmrep/"))
    assert xmp.values(TDM_SPELLINGS, "reservation") == ()
    assert xmp.properties[("http://example.com/not-tdmrep/", "reservation")] == ("1",)


@pytest.mark.parametrize("namespace", TDM_SPELLINGS)
def test_values_across_namespace_spellings(namespace: str) -> None:
    """``values()`` finds a property written under either spelling of one IRI."""
    xmp = read_xmp(xmp_packet(tdm_reservation="1", tdm_ns=namespace))
    assert xmp.values(TDM_SPELLINGS, "reservation") == ("1",)
    assert xmp.values(TDM_SPELLINGS, "policy") == ()
    other = next(n for n in TDM_SPELLINGS if n != namespace)
    assert xmp.values((other,), "reservation") == ()


def test_values_concatenates_in_the_order_of_the_namespaces() -> None:
    """With both spellings present, values() gives the first spelling's values first."""
    xmp = read_xmp(
        packet(
            f'<rdf:Description xmlns:a="{XMP_TDM_SLASH}" xmlns:b="{XMP_TDM_HASH}"'
            ' a:reservation="1" b:reservation="0"/>'
        )
    )
    assert xmp.values(TDM_SPELLINGS, "reservation") == ("1", "0")
    assert xmp.values(TDM_SPELLINGS[::-1], "reservation") == ("0", "1")


def test_empty_has_no_values() -> None:
    """EMPTY is a packet with no properties and no errors."""
    assert EMPTY.values(TDM_SPELLINGS, "reservation") == ()
    assert EMPTY.errors == ()


# --- hostile input ----------------------------------------------------------------------------

GOOD = xmp_packet(tdm_reservation="1")
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (k, (b"&lol%d;" % (k - 1) if k > 1 else b"&lol;") * 10)
        for k in range(1, 10)
    )
    + b"]>\n"
    + packet(f'<rdf:Description xmlns:t="{XMP_TDM_SLASH}"><t:policy>&lol9;</t:policy>'
             "</rdf:Description>")
)  # fmt: skip

INVALID = [
    ("not-xml", b"this is not XML", "xmp.invalid: "),
    ("binary", bytes(range(256)), "xmp.invalid: "),
    ("empty", b"", "xmp.invalid: empty packet"),
    ("only-padding", b"\x00\x00  \r\n\t \x00", "xmp.invalid: empty packet"),
    ("truncated", GOOD[: len(GOOD) // 2], "xmp.invalid: "),
    ("unclosed-root", packet("<rdf:Description/>")[:-12], "xmp.invalid: "),
    ("undeclared-prefix", b"<a:b/>", "xmp.invalid: "),
    ("billion-laughs", LAUGHS, "xmp.invalid: "),
    ("too-large", GOOD + b" " * MAX_PACKET_BYTES,
     f"xmp.too_large: {len(GOOD) + MAX_PACKET_BYTES} bytes, over {MAX_PACKET_BYTES}"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "error"), [pytest.param(*v[1:], id=v[0]) for v in INVALID])
def test_unreadable_packet_is_an_error_not_an_exception(data: bytes, error: str) -> None:
    """A packet that cannot be read gives no properties and one ``xmp.*`` error."""
    xmp = read_xmp(data)
    check(xmp)
    assert xmp.properties == {}
    assert len(xmp.errors) == 1
    assert xmp.errors[0].startswith(error)
    assert len(xmp.errors[0]) < 200


def test_packet_of_exactly_the_limit_is_parsed() -> None:
    """MAX_PACKET_BYTES itself is allowed: only a larger packet is refused."""
    padded = xmp_packet(tdm_reservation="1", padding=0)
    padded = xmp_packet(tdm_reservation="1", padding=MAX_PACKET_BYTES - len(padded))
    assert len(padded) == MAX_PACKET_BYTES
    xmp = read_xmp(padded)
    assert xmp.errors == ()
    assert xmp.values(TDM_SPELLINGS, "reservation") == ("1",)


@pytest.mark.parametrize(
    "data",
    [GOOD + b"\x00" * 4096, b"\x00" * 64 + GOOD, b"\x00 \n" + GOOD + b"\n\x00\x00 "],
    ids=["trailing-nuls", "leading-nuls", "mixed"],
)
def test_nul_padded_packet_is_still_read(data: bytes) -> None:
    """Some writers pad a packet with NUL bytes: it is read as if they were not there."""
    xmp = read_xmp(data)
    assert xmp.errors == ()
    assert xmp.values(TDM_SPELLINGS, "reservation") == ("1",)


def test_entity_bomb_is_neither_expanded_nor_slow() -> None:
    """A billion-laughs packet is refused quickly, with no expanded text anywhere."""
    start = time.perf_counter()
    xmp = read_xmp(LAUGHS)
    assert time.perf_counter() - start < 1.0
    assert xmp.errors[0].startswith("xmp.invalid: ")
    assert "lol" not in repr(xmp.properties)


def test_unused_internal_entities_do_not_stop_the_read() -> None:
    """A DTD declaring entities is tolerated; the entity reference is not expanded."""
    data = b'<!DOCTYPE x [<!ENTITY e "EXPANDED">]>' + packet(
        f'<rdf:Description xmlns:t="{XMP_TDM_SLASH}"><t:policy>&e;</t:policy>'
        "<t:reservation>1</t:reservation></rdf:Description>"
    )
    xmp = read_xmp(data)
    check(xmp)
    assert xmp.values(TDM_SPELLINGS, "reservation") == ("1",)
    assert "EXPANDED" not in repr(xmp.properties)


def _external(tmp_path: Path) -> list[bytes]:
    """Packets that leak a local file, or a local DTD's entity, if external input is read."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED-FROM-DTD">', encoding="ascii")
    secret = tmp_path / "secret.txt"
    secret.write_text("LEAKED-FROM-DTD", encoding="ascii")
    body = packet(
        f'<rdf:Description xmlns:t="{XMP_TDM_SLASH}"><t:policy>&leak;</t:policy>'
        "<t:reservation>1</t:reservation></rdf:Description>"
    )
    return [
        b'<!DOCTYPE x [<!ENTITY leak SYSTEM "file:///etc/passwd">]>' + body,
        f'<!DOCTYPE x [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>'.encode() + body,
        f'<!DOCTYPE x SYSTEM "{dtd.as_uri()}">'.encode() + body,
        f'<!DOCTYPE x [<!ENTITY % ext SYSTEM "{dtd.as_uri()}"> %ext;]>'.encode() + body,
    ]


def test_external_entities_and_dtds_are_never_fetched(tmp_path: Path) -> None:
    """An external entity or DTD (file:///etc/passwd, a local .dtd) is never read into values."""
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    for data in _external(tmp_path):
        xmp = read_xmp(data)
        check(xmp)
        found = repr(xmp.properties)
        assert "LEAKED-FROM-DTD" not in found
        assert "root:" not in found
        assert all(line not in found for line in passwd if line)
        assert xmp.values(TDM_SPELLINGS, "reservation") == ("1",)


def test_the_external_vectors_would_leak_with_a_permissive_parser(tmp_path: Path) -> None:
    """Control: a parser that loads DTDs does expand these vectors, so the test above has teeth."""
    permissive = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True)
    leaked = [etree.tostring(etree.fromstring(data, permissive)) for data in _external(tmp_path)]
    assert b"root:" in leaked[0]
    assert all(b"LEAKED-FROM-DTD" in text for text in leaked[1:])


@pytest.mark.parametrize("count", [MAX_VALUES, MAX_VALUES + 1, 5 * MAX_VALUES])
def test_values_per_property_are_capped(count: int) -> None:
    """Over MAX_VALUES values of one property, the first MAX_VALUES are kept and it is an error."""
    errors = (
        ()
        if count <= MAX_VALUES
        else (f"xmp.too_many_values: subject has {count}, kept {MAX_VALUES}",)
    )
    items = "".join(f"<rdf:li>v{k}</rdf:li>" for k in range(count))
    xmp = read_xmp(
        packet(
            f'<rdf:Description xmlns:dc="{DC_NS}" xmlns:t="{XMP_TDM_SLASH}" t:reservation="1">'
            f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject></rdf:Description>"
        )
    )
    check(xmp)
    assert xmp.errors == errors
    assert xmp.properties[(DC_NS, "subject")] == tuple(f"v{k}" for k in range(MAX_VALUES))
    assert xmp.properties[(XMP_TDM_SLASH, "reservation")] == ("1",)


def test_values_repeated_over_descriptions_are_capped() -> None:
    """The cap also holds for one attribute repeated over many ``rdf:Description`` elements."""
    one = f'<rdf:Description xmlns:t="{XMP_TDM_SLASH}" t:reservation="1"/>'
    xmp = read_xmp(packet(one * (MAX_VALUES + 10)))
    assert xmp.values(TDM_SPELLINGS, "reservation") == ("1",) * MAX_VALUES
    assert xmp.errors == (
        f"xmp.too_many_values: reservation has {MAX_VALUES + 10}, kept {MAX_VALUES}",
    )


@given(st.binary(max_size=2048))
def test_never_raises_on_any_bytes(data: bytes) -> None:
    """Any bytes at all give an Xmp, with only ``xmp.*`` errors."""
    check(read_xmp(data))


@given(st.integers(0, len(GOOD) - 1), st.binary(min_size=1, max_size=8))
def test_never_raises_on_a_damaged_packet(at: int, noise: bytes) -> None:
    """A real packet with bytes overwritten anywhere never raises."""
    check(read_xmp(GOOD[:at] + noise + GOOD[at + len(noise) :]))
