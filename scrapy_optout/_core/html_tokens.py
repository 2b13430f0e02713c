"""The head scan's tokenizer (HTML §13.2.5), written as one regular expression per use.

One match of :data:`NEXT_TAG` steps over all the markup of no interest (text, comments, bogus
comments, ``<script>``/``<style>``/``<title>``… elements whole, other tags with their attribute
values) and stops at the next ``<meta>`` or ``<link>`` tag, which it consumes and whose attributes
it captures, or at the first ``</head`` or ``<body`` *tag*, at the first construct left open, or
at the end of the window. Its last group (:attr:`re.Match.lastindex`) says which: :data:`LINK`,
:data:`NAMED_META` (a meta with both a name and a content), :data:`OTHER_META`, or one of the
groups named in :data:`STOPS`. :data:`HEAD_END` is the same without the ``<meta>``/``<link>``
stops. Both match at every position (their last branch is empty).

One match per kept tag rather than per token: the engine steps over markup in C, and every match
handed back costs Python work. The work is linear in the window whatever the input: the skipping
loop is possessive, at each ``<`` at most one branch reads past its first bytes (the tag names the
branches take are disjoint), and when that branch fails the skipping stops there, for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SP = rb"[\t\n\f\r ]*+"
_NAME_END = rb"(?![^\t\n\f\r />])"  # §13.2.5.8: a tag name ends at whitespace, "/" or ">"
# §13.2.5.36-38: a value. An unclosed quote runs to the end of the window, so its tag is unclosed
# and dropped (§13.2.5.36 "EOF in tag"); a kept tag's quoted value always has both quotes.
_VALUE = rb"""(?:"[^"]*+"?|'[^']*+'?|[^\t\n\f\r >]*+)"""
# The attributes of a tag we only step over. A quote opens a value only right after "=": a quote
# elsewhere ("content=It's") is a parse error but text, and an unquoted value runs to whitespace
# or ">". [I] One simplification: an attribute *name* starting with "=" is read as a value.
_SKIP_ATTRS = rb"[^>=]*+(?:=" + _SP + _VALUE + rb"[^>=]*+)*+"
_META_ATTRS = ("name", "content", "charset", "http-equiv")
_LINK_ATTRS = ("rel", "href", "type")
# RCDATA/RAWTEXT/script elements (§13.2.5.2-4): their content is text up to their own end tag, so
# a "</head>" or "<meta" in there is no tag.
_TEXT_ELEMENTS = tuple(b"script style title textarea xmp iframe noembed noframes".split())

STOPS = ("head_end", "plaintext", "text", "text_open", "comment", "tag", "markup", "eof")
"""Why a match stopped, as the name of its last group: the end of the head, ``<plaintext>``
(§13.2.5.5: all that follows is text), a construct left open, which runs to the end of the window
(a text element's start tag (``text``) or its text (``text_open``, the element named in group
``text``), a comment, a tag, other markup), or the end of the window. An unclosed ``<meta>`` or
``<link>`` ends on one of its attribute groups, or on none."""


def _names(*names: bytes, unless: bool = False) -> bytes:
    """ASCII case-insensitive branches for *names* or, *unless*, for any tag name but those.

    Each branch starts with a plain first-letter class: the engine enters a branch only when its
    class matches, so the branches not taken cost one test each.
    """
    firsts = dict.fromkeys(n[:1] for n in names)
    alts = [
        b"[" + f + f.upper() + (b"](?!(?i:" if unless else b"](?i:")
        + b"|".join(n[1:] for n in names if n[:1] == f) + (b")" + _NAME_END + b")" if unless else b")")
        for f in firsts
    ]  # fmt: skip
    if unless:
        others = bytes(c for c in b"abcdefghijklmnopqrstuvwxyz" if bytes([c]) not in firsts)
        alts.insert(0, b"[" + others + others.upper() + b"]")
    return b"|".join(alts)


def _text_element(name: bytes) -> bytes:
    """A whole text element: start tag, text, end tag (whose attributes may run to the end)."""
    tag = _names(name) + _NAME_END
    return (
        tag + _SKIP_ATTRS + rb">[^<]*+(?:<(?!/" + tag + rb")[^<]*+)*+</" + tag + _SKIP_ATTRS + b">?"
    )


def _kept_attrs(prefix: str, names: tuple[str, ...], numbers: Mapping[str, int] | None) -> bytes:
    """Attributes of a kept tag, one turn each (§13.2.5.32-35), capturing those in *names*.

    Group ``<prefix>_<name>`` holds the value of a present attribute without its quotes (``""``
    when it has none): an opening quote is read before the group, whose look-behind then picks the
    kind of value. A conditional on the group *number* (named ones can only point back) sends a
    repeat to the generic turn: the first one wins (§13.2.5.33).
    """
    turns = []
    for name in names:
        group = f"{prefix}_{name.replace('-', '_')}"
        guard = "(?:" if numbers is None else f"(?({numbers[group]})(?!)|"
        turns.append(
            f"[{name[0]}{name[0].upper()}]{guard}(?i:{name[1:]})".encode()
            + rb"(?![^\t\n\f\r />=])(?:" + _SP + b"=" + _SP + rb"""["']?+)?"""
            + f"(?P<{group}>".encode()
            + rb"""(?<=")[^"]*+|(?<=')[^']*+|(?<=[=\t\n\f\r ])[^\t\n\f\r >]*+|)["']?)"""
        )  # fmt: skip
    turns.append(rb"[^\t\n\f\r />][^\t\n\f\r />=]*+(?:" + _SP + b"=" + _SP + _VALUE + rb")?")
    return rb"(?:[\t\n\f\r /]*+(?:" + b"|".join(turns) + rb"))*+[\t\n\f\r /]*+"


def _source(keep: bool, numbers: Mapping[str, int] | None) -> bytes:
    """The pattern (with the ``<meta>``/``<link>`` stops if *keep*); *numbers*: its group numbers."""
    kept = b"(?!(?:" + _names(b"meta", b"link") + b")" + _NAME_END + b")" if keep else b""
    other = rb"[^\t\n\f\r />]*+" + _SKIP_ATTRS + rb">"  # the rest of any other tag
    skip = (
        rb"(?:[^<]++|<+(?![!?/A-Za-z])|<"  # §13.2.5.6: a "<" not followed by these is text
        + kept + b"(?:(?:" + _names(*_TEXT_ELEMENTS, b"body", b"plaintext", unless=True)
        + b")" + other + rb"|/(?:" + _names(b"head", unless=True) + b")" + other
        + b"".join(b"|" + _text_element(n) for n in _TEXT_ELEMENTS)
        # §13.2.5.43-52: "<!-->", "<!--->", or text up to a run of two dashes or more before ">"
        # or "!>" (read run by run: a dash alone, or a run that ends nothing, is text).
        + rb"|!--(?:>|->|(?:[^-]++|-(?!-)|--++(?!!?>))*+--++!?>)"
        # §13.2.5.6-7, .41: "<!DOCTYPE", "<![CDATA[", "<!x", "<?x", "</1" end at the next ">".
        + rb"|(?:!(?!--)|\?|/(?![A-Za-z]))[^>]*+>"
        rb"))*+"
    )  # fmt: skip
    stops = (
        _names(b"meta") + _NAME_END + _kept_attrs("meta", _META_ATTRS, numbers)
        + rb"(?:(?(meta_name)(?(meta_content)(?P<named_meta>>))))?(?(named_meta)|(?P<meta>>)?)|"
        + _names(b"link") + _NAME_END + _kept_attrs("link", _LINK_ATTRS, numbers) + rb"(?P<link>>)?|"
    ) if keep else b""  # fmt: skip
    return (
        skip + rb"(?:<(?:" + stops + rb"(?P<head_end>/" + _names(b"head") + b"|" + _names(b"body")
        + rb")" + _NAME_END + rb"|(?P<plaintext>" + _names(b"plaintext") + b")" + _NAME_END
        # What is left is a construct the skipping could not close: it runs to the window's end.
        + rb"|(?P<text>" + _names(*_TEXT_ELEMENTS) + rb")" + _NAME_END + _SKIP_ATTRS
        + rb"(?P<text_open>>)?|(?P<comment>!--)|(?P<tag>/?[A-Za-z])|(?P<markup>))|(?P<eof>))"
    )  # fmt: skip


def _compile(keep: bool) -> re.Pattern[bytes]:
    """Compile the pattern, in two passes: the second one knows the group numbers."""
    return re.compile(_source(keep, re.compile(_source(keep, None)).groupindex))


NEXT_TAG = _compile(keep=True)
"""One match: the markup up to and including the next ``<meta>``/``<link>``, or up to a stop."""
HEAD_END = _compile(keep=False)
"""One match: all the markup up to a stop, ``<meta>`` and ``<link>`` tags included."""

_GROUPS = NEXT_TAG.groupindex
META_NAME, META_CONTENT = _GROUPS["meta_name"], _GROUPS["meta_content"]
"""Groups: the values of a meta's ``name`` and ``content`` (``None``: no such attribute)."""
META_CHARSET, META_HTTP_EQUIV = _GROUPS["meta_charset"], _GROUPS["meta_http_equiv"]
"""Groups: the values of a meta's ``charset`` and ``http-equiv``."""
NAMED_META, OTHER_META, LINK = _GROUPS["named_meta"], _GROUPS["meta"], _GROUPS["link"]
"""The last group of a match that ends on a ``<meta>`` with a name and a content, on any other
``<meta>``, or on a ``<link>``."""
LINK_VALUES = slice(_GROUPS["link_rel"] - 1, _GROUPS["link_type"])
"""Where ``rel``, ``href`` and ``type`` are in :meth:`re.Match.groups`."""


def signal_tags(
    matches: Iterable[re.Match[bytes]],
    needles: tuple[bytes, ...],
    room: int,
    metas: list[bytes],
    links: list[bytes],
) -> re.Match[bytes] | None:
    """Step over the :data:`NEXT_TAG` *matches* left once the head scan's tag cap is reached.

    DESIGN §5.2: every ``<meta>`` in the window counts, so past the cap the tags whose captured
    values hold one of the lower-case *needles* (or a numeric reference, which may spell one) are
    still kept, *room* of them at most, into *metas* (name, content) and *links* (rel, href, type);
    the others are passed over. Returns the match that stopped the scan (None: no match left).
    """
    for m in matches:
        last = m.lastindex
        if last == LINK:
            values: tuple[bytes, ...] = m.groups(b"")[LINK_VALUES]
        elif last == NAMED_META:
            values = m.group(META_NAME, META_CONTENT)
        elif last == OTHER_META:
            continue
        else:
            return m
        if room > 0:
            text = b"\x00".join(values).lower()
            if b"&#" in text or any(needle in text for needle in needles):
                (links if last == LINK else metas).extend(values)
                room -= 1
    return None
