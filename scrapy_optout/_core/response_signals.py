"""Per-signal readers of the response stage: TDMRep layers, noai/noimageai, aipref headers, images.

``response.py`` reads a response once and calls these to turn what it found into reasons; the
combination itself is ``rules.py``'s.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from . import rules
from .aipref import most_restrictive, parse_content_signal, parse_content_usage_header
from .models import Code, Decision, Reason, Signal, Verdict
from .policy import Policy
from .robots_tags import AiDirectives
from .tdmrep import TdmValue, tdm_from_headers, tdm_from_meta

IMAGE_EXTENSIONS = frozenset(
    [
        "avif",
        "bmp",
        "gif",
        "heic",
        "heif",
        "ico",
        "jpeg",
        "jpg",
        "png",
        "svg",
        "tif",
        "tiff",
        "webp",
    ]
)


def looks_like_image(url: str) -> bool:
    """Whether the URL's path ends in a common image file extension."""
    path = urlsplit(url).path if "://" in url else url
    dot = path.rfind(".")
    return dot >= 0 and path[dot + 1 :].lower() in IMAGE_EXTENSIONS


def page_images(page: Decision, policy: Policy, found: rules.Findings) -> None:
    """Rule 4: an image requested from a page that carried noimageai/noai."""
    if Signal.NOAI not in policy.checks:
        return
    for reason in page.image_reasons:
        found.reservations.append(
            Reason(
                Code.NOIMAGEAI,
                Signal.NOAI,
                reason.source,
                f"image of a page that carried {reason.detail}",
            )
        )


# What a head signal's meta holds, in some case: "noai"/"noimageai" in its content, or a name
# starting "tdm-" (TDMRep §1.5); heads holding none of them are not tokenized (html.scan_head).

def is_image(content_type: str | None, url: str) -> bool:
    """An image by its Content-Type, or by its URL when it has none."""
    return content_type.lower().startswith("image/") if content_type else looks_like_image(url)



def tdm_response(
    url: str,
    reservations: tuple[str, ...],
    policies: tuple[str, ...],
    metas: tuple[tuple[str, str], ...],
    embedded: tuple[str, TdmValue] | None,
    found: rules.Findings,
) -> None:
    layers: list[tuple[str, int | None, str | None, str]] = []
    if reservations or policies:
        header = tdm_from_headers(reservations, policies)
        found.errors.extend(header.errors)
        layers.append((Code.TDMREP_HEADER, header.reservation, header.policy, header.detail))
    if metas:
        meta = tdm_from_meta(metas)
        found.errors.extend(meta.errors)
        layers.append((Code.TDMREP_META, meta.reservation, meta.policy, meta.detail))
    if embedded is not None:  # TDMRep §1.7 step 4: EPUB and PDF metadata supersede both
        code, value = embedded
        layers.append((code, value.reservation, value.policy, value.detail))
    reservation, tdm_policy, code, detail = rules.tdm_layers(layers)
    if reservation == 1:
        found.lead(tdm_policy)
        found.reservations.append(Reason(code, Signal.TDMREP, url, detail, tdm_policy))
    elif reservation == 0:  # TDMRep §1.2: a policy with reservation 0 SHOULD NOT be processed
        found.permissions.append(f"{code}: {detail}")


def noai_reasons(
    code: str, directives: AiDirectives, url: str, content_type: str | None, found: rules.Findings
) -> None:
    """Record one carrier's noai/noimageai (X-Robots-Tag or meta robots, standards.md §3)."""
    found.errors.extend(directives.errors)
    if not (directives.noai or directives.noimageai):
        return
    where = "X-Robots-Tag" if code == Code.NOAI_HEADER else "meta robots"
    detail = f"{where}: {', '.join(directives.matched)}"
    found.image_reasons.append(Reason(code, Signal.NOAI, url, detail))
    if directives.noai:
        found.reservations.append(Reason(code, Signal.NOAI, url, detail))
    elif is_image(content_type, url):  # noimageai reserves images only (DESIGN §5 rule 4)
        found.reservations.append(Reason(Code.NOIMAGEAI, Signal.NOAI, url, detail))


def usage_headers(
    url: str,
    usage: tuple[str, ...],
    content_signal: tuple[str, ...],
    policy: Policy,
    found: rules.Findings,
) -> None:
    label = rules.CONTENT_USAGE_LABEL.get(policy.purpose)
    if usage and label and Signal.CONTENT_USAGE in policy.checks:
        prefs = parse_content_usage_header(usage)
        found.errors.extend(prefs.errors)
        detail = "Content-Usage: " + ", ".join(usage)
        _header_statement(
            prefs.get(label), Code.CONTENT_USAGE, Signal.CONTENT_USAGE, url, detail, found
        )
    key = rules.CONTENT_SIGNAL_KEY.get(policy.purpose)
    if content_signal and key and Signal.CONTENT_SIGNAL in policy.checks:
        verdicts = []
        for value in content_signal:
            prefs = parse_content_signal(value)
            found.errors.extend(prefs.errors)
            verdicts.append(prefs.get(key))
        detail = "Content-Signal: " + ", ".join(content_signal)
        _header_statement(
            most_restrictive(verdicts),
            Code.CONTENT_SIGNAL,
            Signal.CONTENT_SIGNAL,
            url,
            detail,
            found,
        )


def _header_statement(
    verdict: Verdict, code: str, signal: str, url: str, detail: str, found: rules.Findings
) -> None:
    if verdict is Verdict.RESERVED:
        found.reservations.append(Reason(code, signal, url, detail))
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"{code}: {detail}")
