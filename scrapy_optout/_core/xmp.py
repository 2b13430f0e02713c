"""XMP packets: the RDF/XML metadata that images and PDFs carry (ISO 16684-1).

An XMP property is written in one of two RDF/XML forms, and both are read (DESIGN §5.2
"Embedded signals"): a child element of ``rdf:Description`` (its text, its ``rdf:resource``, or the
``rdf:li`` items of an ``rdf:Alt``/``rdf:Bag``/``rdf:Seq`` inside it), or an attribute of
``rdf:Description``. Properties are found by namespace IRI, never by prefix, so that a packet
binding its own prefix still counts.

The parser is lxml's, made safe for hostile input: no DTD loading, no entity expansion, no network,
no huge trees; a packet over :data:`MAX_PACKET_BYTES` is not parsed. Nothing here raises on remote
input: problems are returned as ``xmp.*`` errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .safexml import parse_xml

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
MAX_PACKET_BYTES = 4 * 1024 * 1024
"""The largest packet parsed (an APP1 segment holds 64 KiB; a PDF's metadata rarely 1 MiB)."""
MAX_VALUES = 1000
"""Values kept per property (a hostile packet may repeat one a million times)."""

_DESCRIPTION = f"{{{RDF}}}Description"
_RESOURCE = f"{{{RDF}}}resource"
_CONTAINERS = frozenset(f"{{{RDF}}}{name}" for name in ("Alt", "Bag", "Seq"))
_LI = f"{{{RDF}}}li"


@dataclass(frozen=True, slots=True)
class Xmp:
    """The properties of one XMP packet, keyed by ``(namespace IRI, local name)``.

    Attributes:
        properties: each property's values in document order (strings, stripped).
        errors: why the packet could not be read, or what was cut.
    """

    properties: dict[tuple[str, str], tuple[str, ...]]
    errors: tuple[str, ...] = ()

    def values(self, namespaces: tuple[str, ...], name: str) -> tuple[str, ...]:
        """The values of property *name* in any of *namespaces* (spellings of one IRI)."""
        found: tuple[str, ...] = ()
        for namespace in namespaces:
            found += self.properties.get((namespace, name), ())
        return found


EMPTY = Xmp({})


def _split(tag: str) -> tuple[str, str] | None:
    if not tag.startswith("{"):
        return None
    namespace, _, local = tag[1:].partition("}")
    return namespace, local


def _element_values(element: etree._Element) -> list[str]:
    """A property element's values: ``rdf:resource``, ``rdf:li`` items, or its text."""
    resource = element.get(_RESOURCE)
    if resource is not None:
        return [resource.strip()]
    values = [
        (item.text or "").strip()
        for container in element
        if container.tag in _CONTAINERS
        for item in container
        if item.tag == _LI
    ]
    if values:
        return values
    return [(element.text or "").strip()]


def read_xmp(packet: bytes) -> Xmp:
    """Parse one XMP packet (never raises; see the module docstring)."""
    if len(packet) > MAX_PACKET_BYTES:
        return Xmp({}, (f"xmp.too_large: {len(packet)} bytes, over {MAX_PACKET_BYTES}",))
    # Packets are padded with whitespace, and some writers pad or end them with NULs.
    text = packet.strip(b"\x00 \t\r\n")
    if not text:
        return Xmp({}, ("xmp.invalid: empty packet",))
    try:
        root = parse_xml(text)
    except etree.XMLSyntaxError as exc:
        return Xmp({}, (f"xmp.invalid: {str(exc)[:120]}",))
    properties: dict[tuple[str, str], list[str]] = {}
    errors: list[str] = []
    for description in root.iter(_DESCRIPTION):
        for name, value in description.attrib.items():
            key = _split(str(name))
            if key is not None and key[0] != RDF:
                properties.setdefault(key, []).append(str(value).strip())
        for child in description:
            tag: object = child.tag  # an unexpanded entity's tag is not a str
            key = _split(tag) if isinstance(tag, str) else None
            if key is not None and key[0] != RDF:
                properties.setdefault(key, []).extend(_element_values(child))
    kept: dict[tuple[str, str], tuple[str, ...]] = {}
    for key, values in properties.items():
        if len(values) > MAX_VALUES:
            errors.append(f"xmp.too_many_values: {key[1]} has {len(values)}, kept {MAX_VALUES}")
        kept[key] = tuple(values[:MAX_VALUES])
    return Xmp(kept, tuple(errors))
