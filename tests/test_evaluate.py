"""The public evaluate_response: any header container, stage response, today's licences."""

from __future__ import annotations

import email
import http.client
from datetime import date, timedelta

import httpx
import pytest
from scrapy.http.headers import Headers as ScrapyHeaders

from scrapy_optout import Licence, evaluate_response


@pytest.mark.parametrize(
    "headers",
    [
        {"tdm-reservation": "1"},
        {b"TDM-Reservation": b"1"},
        [("Tdm-Reservation", "1")],
        httpx.Headers({"tdm-reservation": "1"}),
        ScrapyHeaders({"tdm-reservation": "1"}),
        email.message_from_string("TDM-Reservation: 1\n\n", _class=http.client.HTTPMessage),
    ],
    ids=["dict", "bytes", "pairs", "httpx", "scrapy", "HTTPMessage"],
)
def test_any_header_container(make_policy, headers):
    """DESIGN §3: dict, httpx, Scrapy, HTTPMessage and pairs, str or bytes, are all read."""
    decision = evaluate_response("https://e.org/a", 200, headers, b"", make_policy())
    assert decision.stage == "response"
    assert decision.reasons[0].code == "tdmrep_header"


def test_uses_todays_date_for_licences(make_policy):
    """The public function supplies today's UTC date, so dated licences are checked."""
    today = date.today()
    valid = Licence(licensor="L", scope="domain", value="e.org",
                    valid_from=today - timedelta(days=2), valid_until=today + timedelta(days=2))
    expired = Licence(licensor="L", scope="domain", value="e.org",
                      valid_until=today - timedelta(days=2))
    headers = {"X-Robots-Tag": "noai"}
    assert evaluate_response("https://e.org/a", 200, headers, b"",
                             make_policy(licences=[valid])).allowed
    assert not evaluate_response("https://e.org/a", 200, headers, b"",
                                 make_policy(licences=[expired])).allowed
