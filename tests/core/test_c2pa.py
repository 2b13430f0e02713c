"""The CAWG/C2PA training-mining assertion and its verdicts (standards.md §8.1-8.4)."""

from __future__ import annotations

import pytest

from scrapy_optout._core import rules
from scrapy_optout._core.c2pa import LABELS, MAX_ENTRIES, USES, C2paManifest, training_mining
from scrapy_optout._core.models import Verdict

CAWG = "cawg.training-mining"
LEGACY = "c2pa.training-mining"
PURPOSES = ("train-ai", "ai-input", "tdm", "search")
R, A, U = Verdict.RESERVED, Verdict.ALLOW, Verdict.UNKNOWN
CAWG_EXAMPLE = {  # the CAWG example of §8.4 P2
    "entries": {
        "cawg.ai_training": {"use": "allowed"},
        "cawg.ai_generative_training": {"use": "notAllowed"},
        "cawg.data_mining": {"use": "constrained", "constraint_info": "https://example.com/tdm"},
    }
}


def manifest(data: object, label: str = CAWG, *, validated: bool = True) -> C2paManifest:
    """A manifest with one assertion, next to the usual c2pa.actions one."""
    actions = ("c2pa.actions.v2", {"actions": [{"action": "c2pa.created"}]})
    return C2paManifest(assertions=(actions, (label, data)), validated=validated)


def verdicts(found: C2paManifest) -> dict[str, Verdict]:
    """The verdict of *found* for each purpose, through training_mining and c2pa_verdict."""
    entries, _ = training_mining(found)
    return {p: rules.c2pa_verdict(entries, found.validated, p)[0] for p in PURPOSES}


def entry(use: object, **more: object) -> dict[str, object]:
    return {"use": use, **more}


# --- the vectors of standards.md §8.4 ---------------------------------------------------------

VECTORS = [
    ("P1", manifest({"entries": {"cawg.ai_generative_training": entry("notAllowed")}}),
     {"train-ai": R, "ai-input": U, "tdm": U, "search": U}),
    ("P2", manifest(CAWG_EXAMPLE), {"train-ai": R, "ai-input": R, "tdm": R, "search": U}),
    ("P2-unvalidated", manifest(CAWG_EXAMPLE, validated=False),
     {"train-ai": R, "ai-input": R, "tdm": R, "search": U}),
    ("P3", manifest({"entries": {"c2pa.ai_training": entry("notAllowed")}}, LEGACY),
     {"train-ai": R, "ai-input": U, "tdm": U, "search": U}),
    ("P4", manifest({"entries": {"cawg.ai_inference": entry("constrained",
                                                            constraints_info="contact us")}}),
     {"train-ai": U, "ai-input": R, "tdm": U, "search": U}),
    ("P5-no-assertion", C2paManifest(assertions=(("c2pa.actions.v2", {"actions": []}),),
                                     validated=True),
     {"train-ai": U, "ai-input": U, "tdm": U, "search": U}),
    ("P5-no-manifest", C2paManifest(), {"train-ai": U, "ai-input": U, "tdm": U, "search": U}),
    ("P5-unreadable", C2paManifest(error="c2pa.invalid: x"),
     {"train-ai": U, "ai-input": U, "tdm": U, "search": U}),
    ("P6", manifest({"entries": {"cawg.ai_generative_training": entry("allowed")}},
                    validated=False),
     {"train-ai": U, "ai-input": U, "tdm": U, "search": U}),
    ("P6-validated", manifest({"entries": {"cawg.ai_generative_training": entry("allowed")}}),
     {"train-ai": A, "ai-input": U, "tdm": U, "search": U}),
    ("P7", manifest({"cawg.ai_training": entry("notAllowed")}),
     {"train-ai": R, "ai-input": U, "tdm": U, "search": U}),
    ("data-mining-allowed", manifest({"entries": {"cawg.data_mining": entry("allowed")}}),
     {"train-ai": A, "ai-input": A, "tdm": A, "search": U}),
    ("data-mining-not-allowed", manifest({"entries": {"cawg.data_mining": entry("notAllowed")}},
                                         validated=False),
     {"train-ai": R, "ai-input": R, "tdm": R, "search": U}),
]  # fmt: skip


@pytest.mark.parametrize(("found", "expected"), [pytest.param(*v[1:], id=v[0]) for v in VECTORS])
def test_vectors(found: C2paManifest, expected: dict[str, Verdict]) -> None:
    """Each §8.4 vector gives, per purpose, the verdict standards.md §8.3 says."""
    assert verdicts(found) == expected


def test_p2_details_name_the_deciding_entries() -> None:
    """P2: every restrictive entry bearing on the purpose is named; allowed ones are not."""
    entries, errors = training_mining(manifest(CAWG_EXAMPLE))
    assert errors == []
    assert entries == {
        "ai_training": ("allowed", ""),
        "ai_generative_training": ("notAllowed", ""),
        "data_mining": ("constrained", "https://example.com/tdm"),
    }
    assert rules.c2pa_verdict(entries, True, "train-ai") == (
        R,
        "ai_generative_training notAllowed, data_mining constrained",
    )
    assert rules.c2pa_verdict(entries, True, "ai-input") == (R, "data_mining constrained")


def test_allowed_detail_needs_validation() -> None:
    """An allowed entry is a permission, named, only when the manifest validated (P6)."""
    entries = {"ai_training": ("allowed", ""), "data_mining": ("allowed", "")}
    assert rules.c2pa_verdict(entries, True, "train-ai") == (
        A,
        "ai_training allowed, data_mining allowed",
    )
    assert rules.c2pa_verdict(entries, False, "train-ai") == (U, "")


def test_keys_per_purpose() -> None:
    """C2PA_KEYS: data_mining bears on every AI use; nothing bears on search (§8.3)."""
    assert rules.C2PA_KEYS == {
        "train-ai": ("ai_training", "ai_generative_training", "data_mining"),
        "ai-input": ("ai_inference", "data_mining"),
        "tdm": ("data_mining",),
    }
    assert rules.bears_on("c2pa", "search") is False
    assert all(rules.bears_on("c2pa", p) for p in ("train-ai", "ai-input", "tdm"))


# --- labels and keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label",
    [CAWG, LEGACY, f"{CAWG}.v2", f"{CAWG}.v1", f"{CAWG}__1", f"{CAWG}.v2__3", f"{LEGACY}.v2",
     f"{LEGACY}__2"],
)  # fmt: skip
def test_labels_with_version_or_instance_suffix_are_read(label: str) -> None:
    """Both labels are read, with a version (``.v2``) or an instance (``__1``) suffix."""
    found = manifest({"entries": {"cawg.ai_training": entry("notAllowed")}}, label)
    assert training_mining(found) == ({"ai_training": ("notAllowed", "")}, [])


@pytest.mark.parametrize(
    "label",
    ["c2pa.actions", "cawg.training-mining-extra", "cawg.training", "org.example.training-mining",
     "CAWG.training-mining", "training-mining", "", f"x{CAWG}"],
)  # fmt: skip
def test_other_labels_are_ignored(label: str) -> None:
    """An assertion with any other label is not a training-mining assertion."""
    found = manifest({"entries": {"cawg.ai_training": entry("notAllowed")}}, label)
    assert training_mining(found) == ({}, [])


def test_labels_constant() -> None:
    """The two label spellings of §8.2, CAWG first."""
    assert LABELS == (CAWG, LEGACY)
    assert frozenset({"allowed", "notAllowed", "constrained"}) == USES


@pytest.mark.parametrize(
    ("key", "name"),
    [("cawg.ai_training", "ai_training"), ("c2pa.ai_training", "ai_training"),
     ("ai_training", "ai_training"), ("com.example.custom", "com.example.custom"),
     ("cawg.x.y", "x.y")],
)  # fmt: skip
def test_key_prefix_is_dropped(key: str, name: str) -> None:
    """``cawg.`` and ``c2pa.`` prefixes are dropped; other (custom) keys are kept whole."""
    entries, _ = training_mining(manifest({"entries": {key: entry("notAllowed")}}))
    assert list(entries) == [name]


def test_custom_key_bears_on_no_purpose() -> None:
    """A custom key is read but decides nothing."""
    found = manifest({"entries": {"com.example.ai_use": entry("notAllowed")}})
    assert verdicts(found) == dict.fromkeys(PURPOSES, U)


# --- constraint text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "info"),
    [
        ({"constraint_info": "ask us"}, "ask us"),
        ({"constraints_info": "ask us"}, "ask us"),
        ({"constraint_info": "CDDL", "constraints_info": "prose"}, "CDDL"),
        ({}, ""),
        ({"constraint_info": ""}, ""),
        ({"constraint_info": None}, ""),
        ({"constraint_info": 42}, "42"),
        ({"constraint_info": "x" * 500}, "x" * 200),
    ],
)
def test_constraint_info_spellings(extra: dict[str, object], info: str) -> None:
    """Both ``constraint_info`` (CDDL) and ``constraints_info`` (prose) are read, cut to 200."""
    found = manifest({"entries": {"cawg.ai_inference": entry("constrained", **extra)}})
    assert training_mining(found) == ({"ai_inference": ("constrained", info)}, [])


# --- invalid input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "use",
    ["yes", "NotAllowed", "ALLOWED", "allowed ", "", None, 1, 0, True, 1.5, ["allowed"],
     {"use": "allowed"}, ("notAllowed",)],
    ids=repr,
)  # fmt: skip
def test_invalid_use_is_an_error_and_says_nothing(use: object) -> None:
    """A ``use`` outside allowed/notAllowed/constrained is an error, and the key stays unknown."""
    table = {"cawg.ai_training": {"use": use}, "cawg.ai_inference": entry("notAllowed")}
    found = manifest({"entries": table})
    entries, errors = training_mining(found)
    assert entries == {"ai_inference": ("notAllowed", "")}
    assert errors == [f"c2pa.invalid_entry: cawg.ai_training use {str(use)[:40]!r}"]
    assert rules.c2pa_verdict(entries, True, "train-ai") == (U, "")


def test_missing_use_is_an_error() -> None:
    """An entry with no ``use`` at all is an invalid entry."""
    entries, errors = training_mining(manifest({"entries": {"cawg.data_mining": {}}}))
    assert entries == {}
    assert errors == ["c2pa.invalid_entry: cawg.data_mining use 'None'"]


@pytest.mark.parametrize(
    "data",
    [None, "notAllowed", 42, ["cawg.ai_training"], b"\xa1", ("entries",)],
    ids=repr,
)
def test_non_mapping_assertion_data_is_ignored(data: object) -> None:
    """Assertion data that is not a mapping is ignored, without error."""
    assert training_mining(manifest(data)) == ({}, [])


@pytest.mark.parametrize(
    "data",
    [
        {"entries": {"cawg.ai_training": "notAllowed"}},
        {"entries": {"cawg.ai_training": ["notAllowed"]}},
        {"entries": {"cawg.ai_training": None}},
        {"entries": {1: entry("notAllowed")}},
        {"entries": {("cawg.ai_training",): entry("notAllowed")}},
        {"metadata": entry("notAllowed")},
        {"entries": ["cawg.ai_training"]},
        {"entries": "cawg.ai_training"},
    ],
    ids=repr,
)
def test_non_mapping_entries_and_odd_keys_are_ignored(data: object) -> None:
    """Non-mapping entries, non-string keys and the ``metadata`` map are skipped, not read."""
    assert training_mining(manifest(data)) == ({}, [])


def test_entries_wrapper_wins_over_top_level_keys() -> None:
    """With an ``entries`` map present, the top level is its wrapper and not read for keys."""
    data = {
        "entries": {"cawg.ai_inference": entry("notAllowed")},
        "cawg.ai_training": entry("notAllowed"),
    }
    assert training_mining(manifest(data))[0] == {"ai_inference": ("notAllowed", "")}


def test_entries_are_capped() -> None:
    """Only the first MAX_ENTRIES entries of an assertion are read."""
    table: dict[str, object] = {f"com.example.k{i}": entry("allowed") for i in range(MAX_ENTRIES)}
    table["cawg.ai_training"] = entry("notAllowed")
    entries, _ = training_mining(manifest({"entries": table}))
    assert len(entries) == MAX_ENTRIES
    assert "ai_training" not in entries


# --- a key said twice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    [
        {"c2pa.ai_training": entry("notAllowed"), "cawg.ai_training": entry("allowed")},
        {"cawg.ai_training": entry("constrained"), "c2pa.ai_training": entry("allowed")},
        {"cawg.ai_training": entry("allowed"), "ai_training": entry("notAllowed")},
    ],
    ids=["legacy-then-cawg", "cawg-then-legacy", "allowed-first"],
)
def test_permission_never_replaces_a_restriction_under_another_prefix(
    table: dict[str, object],
) -> None:
    """The same key under two prefixes: the restrictive one counts, in either order."""
    found = manifest({"entries": table})
    entries, _ = training_mining(found)
    assert entries["ai_training"][0] in ("notAllowed", "constrained")
    assert verdicts(found)["train-ai"] is R


def test_permission_never_replaces_a_restriction_of_another_assertion() -> None:
    """Two training-mining assertions (``__1``): a later ``allowed`` does not lift a reservation."""
    found = C2paManifest(
        assertions=(
            (CAWG, {"entries": {"cawg.data_mining": entry("notAllowed", constraint_info="no")}}),
            (f"{CAWG}__1", {"entries": {"cawg.data_mining": entry("allowed")}}),
            (LEGACY, {"entries": {"c2pa.ai_inference": entry("allowed")}}),
        ),
        validated=True,
    )
    entries, errors = training_mining(found)
    assert entries == {"data_mining": ("notAllowed", "no"), "ai_inference": ("allowed", "")}
    assert errors == []
    assert verdicts(found) == {"train-ai": R, "ai-input": R, "tdm": R, "search": U}


def test_later_restriction_replaces_an_earlier_permission() -> None:
    """A later restrictive entry for a key replaces an earlier permission."""
    found = manifest({"entries": {"cawg.ai_training": entry("allowed"),
                                  "c2pa.ai_training": entry("notAllowed")}})  # fmt: skip
    assert training_mining(found)[0] == {"ai_training": ("notAllowed", "")}
