"""Hypothesis strategies for HTML heads that carry (or hide) signal-bearing meta tags."""

from __future__ import annotations

from hypothesis import strategies as st


def spelled(word: str) -> st.SearchStrategy[str]:
    """*word* as a page may write it: as is, upper-case, or by letters (either case, or references)."""
    letters = [st.sampled_from([c, c.upper(), f"&#{ord(c)};", f"&#x{ord(c):X};"]) for c in word]
    return st.sampled_from([word, word.upper()]) | st.tuples(*letters).map("".join)


META = st.builds(
    '<meta name="{}" content="{}">'.format,
    st.sampled_from(["robots", "MyAIBot", "description"]) | spelled("tdm-reservation"),
    spelled("noai")
    | spelled("noimageai")
    | st.sampled_from(["1", "0", "index, follow", "noindex", "MyAIBot: noai"]),
)
OTHER = st.sampled_from(
    [
        "<title>t</title>",
        "<title></head></title>",
        "<script>var s = '</head><body>';</script>",
        '<link rel="x" href="</head>">',
        "<!-- </head> -->",
        "<!--",
        "<body",
        "</header>",
        "&amp;",
    ]
)


def html_heads() -> st.SearchStrategy[bytes]:
    """Heads of signal metas among tags and text that hide a head end, in several encodings."""
    return st.builds(
        lambda parts, end, codec: ("<html><head>" + "".join(parts) + end).encode(codec),
        st.lists(META | OTHER, max_size=5),
        st.sampled_from(["</head><body>", "", "<BODY>"]),
        st.sampled_from(["utf-8", "utf-16", "utf-16-le", "cp1252"]),
    )
