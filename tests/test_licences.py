"""The licence register file: ``scrapy_optout.licences.load_licences`` (DESIGN §8, §5.2 "Dates").

Three forms, chosen by suffix: TOML (a top-level ``[[licence]]`` array, dates as TOML dates or
strings), JSON (a list of objects, ``purposes`` a list or a ``;``-separated string) and CSV (a
header row, ``;``-separated ``purposes``, an optional BOM). It is the operator's own configuration:
anything wrong raises a ``ValueError`` whose message starts with the setting's name and names the
file, the entry and the key, before any crawling starts (in Scrapy, when the middleware is built).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout import Licence, Policy
from scrapy_optout._core.rules import licence_for
from scrapy_optout.licences import load_licences

ALL_PURPOSES = frozenset()
"""An empty ``purposes``: the licence covers every purpose."""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    """Write *content* (text as UTF-8) to *folder*/*name*; return the path."""
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def licence(**fields: Any) -> Licence:
    """A Licence with the register's usual licensor, scope and value, overridden by *fields*."""
    values: dict[str, Any] = {"licensor": "Example News", "scope": "domain", "value": "example.org"}
    values.update(fields)
    return Licence(**values)


# --- well-formed registers --------------------------------------------------------------------


@dataclass(frozen=True)
class Good:
    """A well-formed register file and the entries it must load as."""

    id: str
    name: str
    content: str | bytes
    expected: tuple[Licence, ...]


GOOD: tuple[Good, ...] = (
    Good("toml-dates", "licences.toml",
         '[[licence]]\nlicensor = "Example News"\nscope = "domain"\nvalue = "example.org"\n'
         'purposes = ["train-ai"]\nvalid_from = 2026-01-01\nvalid_until = 2027-12-31\n'
         'reference = "CONTRACT-2026-17"\n',
         (licence(purposes=frozenset({"train-ai"}), valid_from=date(2026, 1, 1),
                  valid_until=date(2027, 12, 31), reference="CONTRACT-2026-17"),)),
    Good("toml-string-dates", "licences.toml",
         '[[licence]]\nlicensor = "Example News"\nscope = "domain"\nvalue = "example.org"\n'
         'valid_from = "2026-01-01"\nvalid_until = "2027-12-31"\n',
         (licence(valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31)),)),
    Good("toml-two-entries", "licences.toml",
         '[[licence]]\nlicensor = "A"\nscope = "host"\nvalue = "a.example"\nreference = "A-1"\n\n'
         '[[licence]]\nlicensor = "B"\nscope = "url"\nvalue = "https://b.example/x"\n'
         'purposes = ["search", "ai-input"]\n',
         (licence(licensor="A", scope="host", value="a.example", reference="A-1"),
          licence(licensor="B", scope="url", value="https://b.example/x",
                  purposes=frozenset({"search", "ai-input"})))),
    Good("toml-purposes-string", "licences.toml",
         '[[licence]]\nlicensor = "L"\nscope = "domain"\nvalue = "e.org"\n'
         'purposes = "train-ai; tdm"\n',
         (licence(licensor="L", value="e.org", purposes=frozenset({"train-ai", "tdm"})),)),
    Good("toml-empty-purposes-list", "licences.toml",
         '[[licence]]\nlicensor = "L"\nscope = "domain"\nvalue = "e.org"\npurposes = []\n',
         (licence(licensor="L", value="e.org", purposes=ALL_PURPOSES),)),
    Good("toml-upper-case-suffix", "LICENCES.TOML",
         '[[licence]]\nlicensor = "L"\nscope = "domain"\nvalue = "e.org"\n',
         (licence(licensor="L", value="e.org"),)),
    Good("toml-empty-array", "licences.toml", "licence = []\n", ()),
    Good("json-purposes-list", "licences.json",
         json.dumps([{"licensor": "Example News", "scope": "domain", "value": "example.org",
                      "purposes": ["train-ai", "tdm"], "valid_from": "2026-01-01",
                      "valid_until": "2027-12-31", "reference": "C-17"}]),
         (licence(purposes=frozenset({"train-ai", "tdm"}), valid_from=date(2026, 1, 1),
                  valid_until=date(2027, 12, 31), reference="C-17"),)),
    Good("json-purposes-string", "licences.json",
         json.dumps([{"licensor": "L", "scope": "prefix", "value": "https://e.org/news/",
                      "purposes": "train-ai;ai-input"}]),
         (licence(licensor="L", scope="prefix", value="https://e.org/news/",
                  purposes=frozenset({"train-ai", "ai-input"})),)),
    Good("json-empty-purposes-string", "licences.json",
         json.dumps([{"licensor": "L", "scope": "host", "value": "e.org", "purposes": ""}]),
         (licence(licensor="L", scope="host", value="e.org", purposes=ALL_PURPOSES),)),
    Good("json-no-purposes-no-dates", "licences.json",
         json.dumps([{"licensor": "L", "scope": "url", "value": "https://e.org/a"}]),
         (licence(licensor="L", scope="url", value="https://e.org/a"),)),
    Good("json-null-optionals", "licences.json",
         json.dumps([{"licensor": "L", "scope": "domain", "value": "e.org", "purposes": None,
                      "valid_from": None, "valid_until": None, "reference": None}]),
         (licence(licensor="L", value="e.org"),)),
    Good("json-with-bom", "licences.json",
         b"\xef\xbb\xbf" + json.dumps([{"licensor": "L", "scope": "domain",
                                        "value": "e.org"}]).encode(),
         (licence(licensor="L", value="e.org"),)),
    Good("json-empty-list", "licences.json", "[]", ()),
    Good("csv", "licences.csv",
         "licensor,scope,value,purposes,valid_from,valid_until,reference\n"
         "Example News,domain,example.org,train-ai;tdm,2026-01-01,2027-12-31,C-17\n"
         "Other,prefix,https://o.example/feed/,,,,\n",
         (licence(purposes=frozenset({"train-ai", "tdm"}), valid_from=date(2026, 1, 1),
                  valid_until=date(2027, 12, 31), reference="C-17"),
          licence(licensor="Other", scope="prefix", value="https://o.example/feed/"))),
    Good("csv-with-bom-and-spaces", "licences.csv",
         b"\xef\xbb\xbflicensor,scope,value,purposes\r\n"
         b" Example News , domain , example.org , train-ai ; search \r\n",
         (licence(purposes=frozenset({"train-ai", "search"})),)),
    Good("csv-some-columns", "licences.csv",
         "scope,value,licensor\nurl,https://e.org/a.html,L\n",
         (licence(licensor="L", scope="url", value="https://e.org/a.html"),)),
    Good("csv-header-only", "licences.csv", "licensor,scope,value\n", ()),
)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in GOOD])
def test_well_formed_register_loads_as_documented(case: Good, tmp_path: Path) -> None:
    """Each well-formed TOML, JSON or CSV register loads as exactly its entries."""
    path = write(tmp_path, case.name, case.content)
    assert load_licences(path) == case.expected
    assert load_licences(str(path), setting="OPTOUT_LICENCES") == case.expected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("l.toml", '[[licence]]\nlicensor = "L"\nscope = "domain"\nvalue = "e.org"\n'),
        ("l.toml", '[[licence]]\nlicensor = "L"\nscope = "domain"\nvalue = "e.org"\npurposes = ""'),
        ("l.json", '[{"licensor": "L", "scope": "domain", "value": "e.org", "purposes": []}]'),
        ("l.json", '[{"licensor": "L", "scope": "domain", "value": "e.org", "purposes": " ; "}]'),
        ("l.csv", "licensor,scope,value,purposes\nL,domain,e.org,\n"),
    ],
)
def test_empty_purposes_cover_every_purpose(name: str, content: str, tmp_path: Path) -> None:
    """An empty or absent `purposes` licenses every purpose the crawl may have."""
    (entry,) = load_licences(write(tmp_path, name, content))
    assert entry.purposes == frozenset()
    for purpose in ("train-ai", "ai-input", "search", "tdm"):
        policy = Policy(user_agent="MyAIBot", purpose=purpose, licences=(entry,))
        assert licence_for("https://e.org/a", policy, None) == (entry, None), purpose


SCOPES = [
    # scope, value, covered URLs, URLs not covered
    ("domain", "example.org",
     ("https://example.org/", "http://example.org:8080/x", "https://news.example.org/a"),
     ("https://example.com/", "https://notexample.org/", "https://example.org.evil.test/")),
    ("host", "news.example.org",
     ("https://news.example.org/a", "http://news.example.org:8080/b"),
     ("https://example.org/a", "https://www.news.example.org/a")),
    ("host", "127.0.0.1",
     ("http://127.0.0.1:8080/a.html", "http://127.0.0.1/"),
     ("http://127.0.0.2/a.html",)),
    ("prefix", "https://example.org/news/",
     ("https://example.org/news/", "https://example.org/news/2026/a.html"),
     ("https://example.org/news", "https://example.org/blog/a", "http://example.org/news/a")),
    ("url", "https://example.org/a.html",
     ("https://example.org/a.html",),
     ("https://example.org/a.html?x=1", "https://example.org/a.htm", "https://example.org/b")),
]


@pytest.mark.parametrize("suffix", ["toml", "json", "csv"])
@pytest.mark.parametrize(("scope", "value", "covered", "uncovered"), SCOPES)
def test_each_scope_loads_and_covers_what_it_says(
    scope: str, value: str, covered: tuple[str, ...], uncovered: tuple[str, ...], suffix: str,
    tmp_path: Path,
) -> None:
    """domain, host, prefix and url entries load from every form and cover what DESIGN §8 says."""
    row = {"licensor": "L", "scope": scope, "value": value, "purposes": "train-ai",
           "reference": "R-1"}  # fmt: skip
    if suffix == "json":
        content = json.dumps([row])
    elif suffix == "toml":
        content = "[[licence]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in row.items())
    else:
        content = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
    (entry,) = load_licences(write(tmp_path, f"l.{suffix}", content))
    assert (entry.scope, entry.value, entry.reference) == (scope, value, "R-1")
    policy = Policy(user_agent="MyAIBot", licences=(entry,))
    for url in covered:
        assert licence_for(url, policy, None) == (entry, None), url
    for url in uncovered:
        assert licence_for(url, policy, None) == (None, None), url
    other_purpose = Policy(user_agent="MyAIBot", purpose="search", licences=(entry,))
    assert licence_for(covered[0], other_purpose, None) == (None, None)


@pytest.mark.parametrize(
    ("today", "covered"),
    [
        (date(2025, 12, 31), False),
        (date(2026, 1, 1), True),  # valid from the start of valid_from
        (date(2026, 6, 30), True),
        (date(2027, 12, 31), True),  # to the end of valid_until
        (date(2028, 1, 1), False),
    ],
)
def test_loaded_dates_bound_the_licence(today: date, covered: bool, tmp_path: Path) -> None:
    """A TOML-dated licence covers from valid_from to valid_until inclusive, and no other day."""
    path = write(tmp_path, "l.toml",
                 '[[licence]]\nlicensor = "L"\nscope = "domain"\nvalue = "e.org"\n'
                 "valid_from = 2026-01-01\nvalid_until = 2027-12-31\n")  # fmt: skip
    (entry,) = load_licences(path)
    policy = Policy(user_agent="MyAIBot", licences=(entry,))
    assert licence_for("https://e.org/a", policy, today) == ((entry if covered else None), None)


def test_inverted_validity_window_is_refused(tmp_path: Path) -> None:
    """valid_from after valid_until is a mistake in the register: ValueError naming the entry."""
    path = write(tmp_path, "l.json", json.dumps([{
        "licensor": "L", "scope": "domain", "value": "e.org",
        "valid_from": "2027-01-01", "valid_until": "2026-01-01"}]))  # fmt: skip
    with pytest.raises(ValueError, match=r"^licences: .*l\.json entry 1: valid_from 2027-01-01 is after"):
        load_licences(path)


def test_prefix_and_url_values_compare_as_requests_spell_them(tmp_path: Path) -> None:
    """A licence prefix with an upper-case host or the default port still covers the URLs under it."""
    path = write(tmp_path, "l.json", json.dumps([{
        "licensor": "L", "scope": "prefix", "value": "HTTPS://Example.org:443/news/"}]))  # fmt: skip
    (entry,) = load_licences(path)
    assert entry.value == "https://example.org/news/"
    policy = Policy(user_agent="MyAIBot", licences=(entry,))
    assert licence_for("https://example.org/news/a", policy, date(2026, 1, 1)) == (entry, None)


# --- malformed registers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """A malformed register and what its error must say after ``<setting>: ``.

    Attributes:
        match: a regular expression the rest of the message must match (``re.search``).
        entry: the entry number the message must name (None: a whole-file error).
        key: the key the message must name.
    """

    id: str
    name: str
    content: str | bytes | None  # None: the path is a folder
    match: str
    entry: int | None = None
    key: str | None = None


def toml_entry(**fields: Any) -> str:
    """A ``[[licence]]`` table of *fields*, written as TOML (strings quoted, others as given)."""
    lines = [f"{k} = {json.dumps(v) if isinstance(v, str | list) else v}"
             for k, v in fields.items()]  # fmt: skip
    return "[[licence]]\n" + "\n".join(lines) + "\n"


GOOD_TOML = toml_entry(licensor="L", scope="domain", value="e.org")
GOOD_ROW = {"licensor": "L", "scope": "domain", "value": "e.org"}


def json_second(**fields: Any) -> str:
    """A JSON register whose first entry is good and whose second is *fields*."""
    return json.dumps([GOOD_ROW, fields])


BAD: tuple[Bad, ...] = (
    # -- the file itself --
    Bad("unknown-suffix", "licences.yaml", "- licensor: L\n",
        r"must end in \.csv, \.json or \.toml"),
    Bad("no-suffix", "licences", "[]", r"must end in \.csv, \.json or \.toml"),
    Bad("missing-file", "missing.toml", b"", r"cannot read .*missing\.toml"),
    Bad("folder", "folder.json", None, r"cannot read"),
    Bad("not-utf8-json", "l.json", b'[{"licensor": "\xff"}]', r"cannot read"),
    Bad("not-utf8-toml", "l.toml", b'[[licence]]\nlicensor = "\xff"\n', r"cannot read"),
    Bad("not-utf8-csv", "l.csv", b"licensor,scope,value\n\xff,domain,e.org\n", r"cannot read"),
    Bad("invalid-toml", "l.toml", "[[licence]\nlicensor = \n", r"cannot read"),
    Bad("invalid-json", "l.json", '[{"licensor": "L",', r"cannot read"),
    Bad("invalid-csv", "l.csv", "licensor,scope,value\n" + "x" * 200_000 + ",domain,e.org\n",
        r"not valid CSV"),
    Bad("json-object", "l.json", '{"licence": []}', r"must hold a list of entries"),
    Bad("json-string", "l.json", '"licence"', r"must hold a list of entries"),
    Bad("toml-no-licence-array", "l.toml", 'title = "my licences"\n',
        r"must hold a top-level 'licence' array"),
    Bad("toml-licence-table", "l.toml", '[licence]\nlicensor = "L"\n',
        r"must hold a top-level 'licence' array"),
    Bad("toml-licence-string", "l.toml", 'licence = "L"\n',
        r"must hold a top-level 'licence' array"),
    Bad("toml-empty-file", "l.toml", "", r"must hold a top-level 'licence' array"),
    # -- one entry --
    Bad("json-entry-not-object", "l.json", json.dumps([GOOD_ROW, "L,domain,e.org"]),
        r"expected an object", entry=2),
    Bad("toml-array-of-strings", "l.toml", 'licence = ["L"]\n', r"expected an object", entry=1),
    Bad("toml-unknown-key", "l.toml", GOOD_TOML + toml_entry(licensor="L", scope="domain",
        value="e.org", notes="renewal due"), r"unknown keys \['notes'\]", entry=2, key="notes"),
    Bad("json-unknown-key", "l.json", json_second(**GOOD_ROW, licencee="us"),
        r"unknown keys \['licencee'\]", entry=2, key="licencee"),
    Bad("csv-unknown-column", "l.csv", "licensor,scope,value,notes\nL,domain,e.org,x\n",
        r"unknown keys \['notes'\]", entry=1, key="notes"),
    Bad("json-missing-licensor", "l.json", json_second(scope="domain", value="e.org"),
        r"licensor", entry=2, key="licensor"),
    Bad("csv-empty-licensor", "l.csv", "licensor,scope,value\n,domain,e.org\n",
        r"licensor", entry=1, key="licensor"),
    Bad("toml-blank-licensor", "l.toml", toml_entry(licensor="  ", scope="domain", value="e.org"),
        r"licensor", entry=1, key="licensor"),
    Bad("json-missing-scope", "l.json", json_second(licensor="L", value="e.org"),
        r"scope must be one of .*got ''", entry=2, key="scope"),
    Bad("csv-empty-scope", "l.csv", "licensor,scope,value\nL,,e.org\n",
        r"scope must be one of", entry=1, key="scope"),
    Bad("json-missing-value", "l.json", json_second(licensor="L", scope="domain"),
        r"value must not be empty", entry=2, key="value"),
    Bad("toml-blank-value", "l.toml", toml_entry(licensor="L", scope="host", value=" "),
        r"value must not be empty", entry=1, key="value"),
    Bad("bad-scope", "l.json", json_second(licensor="L", scope="planet", value="earth"),
        r"scope must be one of \['domain', 'host', 'prefix', 'url'\], got 'planet'",
        entry=2, key="scope"),
    Bad("csv-bad-scope", "l.csv", "licensor,scope,value\nL,Domain,e.org\n",
        r"scope must be one of .*got 'Domain'", entry=1, key="scope"),
    Bad("bad-purpose-json-list", "l.json",
        json_second(**GOOD_ROW, purposes=["train-ai", "advertising"]),
        r"unknown purposes \['advertising'\]", entry=2, key="purposes"),
    Bad("bad-purpose-csv", "l.csv", "licensor,scope,value,purposes\nL,domain,e.org,train-ai;art\n",
        r"unknown purposes \['art'\]", entry=1, key="purposes"),
    Bad("bad-purpose-toml-label", "l.toml", toml_entry(**GOOD_ROW, purposes=["ai-train"]),
        r"unknown purposes \['ai-train'\]", entry=1, key="purposes"),
    Bad("purposes-not-list", "l.json", json_second(**GOOD_ROW, purposes=3),
        r"purposes: expected a list or a ';'-separated string", entry=2, key="purposes"),
    Bad("purpose-not-text", "l.json", json_second(**GOOD_ROW, purposes=["train-ai", 1]),
        r"purposes: every purpose must be text", entry=2, key="purposes"),
    Bad("licensor-not-text", "l.json", json_second(licensor=42, scope="domain", value="e.org"),
        r"licensor: expected text, got 42", entry=2, key="licensor"),
    Bad("value-not-text", "l.toml", toml_entry(licensor="L", scope="domain", value=7),
        r"value: expected text, got 7", entry=1, key="value"),
    Bad("reference-not-text", "l.json", json_second(**GOOD_ROW, reference=17),
        r"reference: expected text, got 17", entry=2, key="reference"),
    Bad("bad-date-json", "l.json", json_second(**GOOD_ROW, valid_from="2026-13-01"),
        r"valid_from: expected an ISO 8601 date .*'2026-13-01'", entry=2, key="valid_from"),
    Bad("bad-date-csv", "l.csv", "licensor,scope,value,valid_until\nL,domain,e.org,31/12/2027\n",
        r"valid_until: expected an ISO 8601 date .*'31/12/2027'", entry=1, key="valid_until"),
    Bad("date-as-number", "l.json", json_second(**GOOD_ROW, valid_until=20271231),
        r"valid_until: expected an ISO 8601 date", entry=2, key="valid_until"),
    Bad("toml-datetime", "l.toml", GOOD_TOML + "valid_until = 2027-12-31T23:59:59Z\n",
        r"valid_until: expected a date, got a date and time", entry=1, key="valid_until"),
    Bad("toml-local-datetime", "l.toml", GOOD_TOML + "valid_from = 2026-01-01T00:00:00\n",
        r"valid_from: expected a date, got a date and time", entry=1, key="valid_from"),
    Bad("toml-time", "l.toml", GOOD_TOML + "valid_from = 07:32:00\n",
        r"valid_from: expected an ISO 8601 date", entry=1, key="valid_from"),
    Bad("relative-prefix", "l.json", json_second(licensor="L", scope="prefix", value="/news/"),
        r"value", entry=2, key="value"),
    Bad("relative-prefix-csv", "l.csv", "licensor,scope,value\nL,prefix,news/\n",
        r"value", entry=1, key="value"),
    Bad("relative-url", "l.toml", toml_entry(licensor="L", scope="url", value="/a.html"),
        r"value", entry=1, key="value"),
)


@pytest.mark.parametrize("setting", [None, "OPTOUT_LICENCES"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in BAD])
def test_malformed_register_raises_naming_setting_file_entry_and_key(
    case: Bad, setting: str | None, tmp_path: Path
) -> None:
    """A malformed register raises ValueError starting with the setting, naming file, entry, key."""
    path = tmp_path / case.name
    if case.content is None:
        path.mkdir()
    elif case.id != "missing-file":
        write(tmp_path, case.name, case.content)
    options = {} if setting is None else {"setting": setting}
    prefix = f"{setting or 'licences'}: "
    with pytest.raises(ValueError, match=f"^{re.escape(prefix)}") as caught:
        load_licences(path, **options)
    message = str(caught.value)
    assert str(path) in message, message
    assert re.search(case.match, message), message
    if case.entry is not None:
        assert re.search(rf"\bentry {case.entry}\b", message), message
        assert f"{path} entry {case.entry}: " in message, message
    if case.key is not None:
        assert case.key in message.split(f"entry {case.entry}: ", 1)[1], message


def test_first_bad_entry_is_named_even_after_good_ones(tmp_path: Path) -> None:
    """Entries are numbered from 1 in file order; the error names the first bad one."""
    rows = [GOOD_ROW, GOOD_ROW, {**GOOD_ROW, "scope": "galaxy"}, {**GOOD_ROW, "scope": "planet"}]
    path = write(tmp_path, "l.json", json.dumps(rows))
    with pytest.raises(ValueError, match=r"^licences: .* entry 3: scope .*'galaxy'"):
        load_licences(path)


# --- the Scrapy setting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.toml", None, r"cannot read"),
        ("l.yaml", "[]", r"must end in"),
        ("l.toml", toml_entry(licensor="L", scope="planet", value="earth"), r"entry 1: scope"),
        ("l.json", json_second(**GOOD_ROW, valid_until="someday"), r"entry 2: valid_until"),
        ("l.csv", "licensor,scope,value,purposes\nL,domain,e.org,art\n", r"entry 1: .*purposes"),
    ],
)
def test_scrapy_setting_with_a_bad_register_stops_the_middleware_naming_it(
    name: str, content: str | None, match: str, tmp_path: Path
) -> None:
    """OPTOUT_LICENCES naming a bad register: building the add-on's middleware raises naming it."""
    from scrapy import Spider
    from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
    from scrapy.utils.test import get_crawler

    from scrapy_optout import OptOutMiddleware

    path = tmp_path / name
    if content is not None:
        write(tmp_path, name, content)
    log = tmp_path / "audit.jsonl"
    settings = {"OPTOUT_LICENCES": str(path), "OPTOUT_USER_AGENT": "MyAIBot",
                "OPTOUT_AUDIT_LOG": str(log)}  # fmt: skip
    expected = rf"^OPTOUT_LICENCES: .*{re.escape(str(path))}.*{match}|^OPTOUT_LICENCES: {match}"
    with pytest.raises(ValueError, match=expected):
        OptOutMiddleware.from_crawler(get_crawler(Spider, settings))
    crawler = get_crawler(Spider, {**settings, "ADDONS": {"scrapy_optout.Addon": 0}})
    with pytest.raises(ValueError, match=expected):  # as the add-on enables it
        DownloaderMiddlewareManager.from_crawler(crawler)
    assert not log.exists()


def test_scrapy_setting_with_a_good_register_reaches_the_policy(tmp_path: Path) -> None:
    """OPTOUT_LICENCES naming a good register puts its entries on the crawl's policy."""
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from scrapy_optout import OptOutMiddleware

    path = write(tmp_path, "l.toml", toml_entry(**GOOD_ROW, reference="R-9"))
    settings = {"OPTOUT_LICENCES": str(path), "OPTOUT_USER_AGENT": "MyAIBot",
                "OPTOUT_AUDIT_LOG": str(tmp_path / "audit.jsonl")}  # fmt: skip
    middleware = OptOutMiddleware.from_crawler(get_crawler(Spider, settings))
    assert middleware.shell.policy.licences == (licence(licensor="L", value="e.org",
                                                        reference="R-9"),)
