"""One way to parse hostile XML (XMP packets, EPUB package documents, RSL licences).

lxml with no DTD loading, no entity expansion, no network and no huge trees, so that an entity
bomb or an external entity stays inert. A fresh parser per document: lxml parser objects must not
be shared between threads, and the shells parse from several.
"""

from __future__ import annotations

from lxml import etree


def parse_xml(data: bytes) -> etree._Element:
    """Parse *data*; raises ``etree.XMLSyntaxError`` (or ``ValueError``) when it is not XML."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    return etree.fromstring(data, parser)
