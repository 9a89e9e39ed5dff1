"""Any seeds file gives a valid config or one clear error line, never a traceback (hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.config import ConfigError
from scheduler.schedule import load_config  # as newsmon loads seeds: the scheduler's keys checked too

RULES = '[[rule]]\nname = "r"\nquery = "green AND steel"\n'
KEYS = ["name", "feeds", "sitemaps", "start_urls", "allow", "deny", "follow", "rules", "every", "cron", "revisit",
        "colour"]
VALUES = st.one_of(
    st.sampled_from(['"x"', '"bad name"', '["https://a.example/rss"]', '["ftp://x"]', '["(unclosed"]', "1", "-3",
                     "true", '"30m"', '"soon"', '"*/5 * * * *"', '"61 * * * *"', '["r"]', '["nope"]', "[]", "{}",
                     '"1h30m"', "3.5"]),
    st.text(alphabet='abc"[]{}=\n\\ 01', max_size=12),
)


@st.composite
def sources_toml(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(0, 3))):
        lines = ["[[source]]"] + [f"{k} = {draw(VALUES)}" for k in draw(st.lists(st.sampled_from(KEYS), max_size=6,
                                                                                   unique=True))]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _check(sources: str, rules: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sources.toml").write_text(sources, encoding="utf-8")
        (folder / "rules.toml").write_text(rules, encoding="utf-8")
        try:
            config = load_config(folder, env={})
        except ConfigError as exc:
            message = str(exc)
            assert message and "\n" not in message
            assert "sources.toml" in message or "rules.toml" in message
            return
        assert all(s.seed_urls for s in config.sources)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources_toml())
def test_structured_sources_files(sources: str) -> None:
    _check(sources, RULES)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_as_sources_or_rules(text: str) -> None:
    _check(text, RULES)
    _check('[[source]]\nname = "s"\nfeeds = ["https://a.example/rss"]\n', text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_queries(query: str) -> None:
    escaped = query.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    source = '[[source]]\nname = "s"\nfeeds = ["https://a.example/rss"]\n'
    _check(source, f'[[rule]]\nname = "r"\nquery = "{escaped}"\n')
