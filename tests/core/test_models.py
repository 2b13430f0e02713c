"""models.py: the contract's names (DESIGN §5.2, §6) and the records' value semantics."""

from __future__ import annotations

import hashlib

from scrapy_optout._core.models import ALL_CODES, ALL_SIGNALS, Decision, Evidence, Reason

DESIGN_CODES = """robots_disallow robots_unreachable robots_ai_agents tdmrep_file tdmrep_header
tdmrep_meta noai_header noai_meta noimageai content_usage content_signal ai_txt registry
signal_unavailable no_permission licence bypass c2pa iptc tdmrep_epub tdmrep_pdf rsl_licence"""
DESIGN_SIGNALS = """robots ai-agents tdmrep noai content-usage content-signal ai-txt registry c2pa
iptc rsl"""


def test_reason_codes_are_exactly_designs():
    """Every reason code of DESIGN §6, spelled exactly, and no other."""
    assert frozenset(DESIGN_CODES.split()) == ALL_CODES


def test_signal_names_are_exactly_designs():
    """Every OPTOUT_SIGNALS name of DESIGN §4, spelled exactly, and no other."""
    assert frozenset(DESIGN_SIGNALS.split()) == ALL_SIGNALS


def test_evidence_digest_is_sha256_of_the_body():
    """Evidence.of names a body by sha256:<hex>, as the log's evidence field reads."""
    evidence = Evidence.of(b"User-agent: *\nDisallow: /\n")
    assert evidence.digest == "sha256:" + hashlib.sha256(evidence.body).hexdigest()


def test_decisions_compare_on_their_contract_fields():
    """Evidence bodies and working fields do not change a Decision's equality."""
    reason = Reason("noai_header", "noai", "https://e.org/a", "X-Robots-Tag: noai")
    a = Decision("https://e.org/a", False, "skip", "response", (reason,))
    b = Decision(
        "https://e.org/a",
        False,
        "skip",
        "response",
        (reason,),
        evidence=(Evidence.of(b"x"),),
        permissions=("p",),
    )
    assert a == b
    assert hash(a) == hash(b)
    assert b.reasons[0].policy_url is None
    assert b.reasons[0].evidence is None
