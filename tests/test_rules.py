"""The keyword-rule engine: query syntax, errors, and the default rules on real articles."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.rules import MatchText, Query, QueryError, Rule, match, match_rules, parse_query
from tests.conftest import ROOT

DATA = Path(__file__).resolve().parent / "data"
SEED_ARTICLES = sorted((DATA / "seed_articles").glob("*.txt"))
TEASER_START = "Canadian Prime Minister Mark Carney's official visit"
TEASER_TITLE = "Canadian PM's visit to China paves way for more pragmatic trade ties: scholar"


def _match(query: str, text: str, title: str | None = None) -> tuple[str, ...] | None:
    return match(parse_query(query), MatchText.of(title, text))


def _default_rules() -> list[Rule]:
    # The boolean rules, read with tomllib directly so these tests pin the rules, not the config
    # loader (the `like` rule is tested in test_like_rules.py).
    with (ROOT / "seeds" / "rules.toml").open("rb") as f:
        tables = tomllib.load(f)["rule"]
    return [Rule(t["name"], parse_query(t["query"]),
                 frozenset(t["languages"]) if "languages" in t else None) for t in tables if "query" in t]


# -- syntax ---------------------------------------------------------------------------------------

# Curly apostrophes and full-width punctuation are real article text, not typos.
TEXT = "Green steel: a low-carbon steelmaking plant opens in China’s Hebei, with 5G robots."


@pytest.mark.parametrize(("query", "expected"), [
    # implicit AND, and the same with AND spelled out
    ("green steel", ("green", "steel")),
    ("green AND steel", ("green", "steel")),
    ("green copper", None),
    # precedence: NOT > AND > OR
    ("copper AND aluminum OR steel", ("steel",)),
    ("copper AND (aluminum OR steel)", None),
    ("steel OR copper AND aluminum", ("steel",)),
    ("NOT copper AND steel", ("steel",)),
    ("NOT steel OR green", ("green",)),
    ("NOT (steel OR green)", None),
    # NOT, alone, implicit and repeated
    ("NOT sports", ()),
    ("NOT steel", None),
    ("green NOT sports", ("green",)),
    ("green NOT steel", None),
    ("NOT NOT steel", ("steel",)),
    # OR lists every alternative that occurs, in query order; terms under NOT never appear
    ("copper OR steel OR green", ("steel", "green")),
    ("(steel OR green) AND NOT copper", ("steel", "green")),
    ("(copper AND steel) OR green", ("green",)),
    ("steel OR steel OR Steel", ("steel", "Steel")),
    # phrases: consecutive words; hyphens and quotes in the query are word breaks
    ('"green steel"', ("green steel",)),
    ('"steel green"', None),
    ('"low-carbon"', ("low-carbon",)),
    ("low-carbon", ("low-carbon",)),
    ('"low carbon steelmaking"', ("low carbon steelmaking",)),
    ('"carbon plant"', None),
    ("“green steel”", ("green steel",)),
    ('"china s hebei"', ("china s hebei",)),
    ("China’s", ("China’s",)),
    # wildcard on a word and on the last word of a phrase
    ("steel*", ("steel*",)),
    ("steelmak*", ("steelmak*",)),
    ("robot*", ("robot*",)),
    ("robots*", ("robots*",)),
    ("robotics*", None),
    ('"low carb*"', ("low carb*",)),
    ('"low carbon steel*"', ("low carbon steel*",)),
    ('"low steel*"', None),
    # whole words, case-insensitive
    ("steelmaking", ("steelmaking",)),
    ("steelmak", None),
    ("plan", None),
    ("GREEN", ("GREEN",)),
    ("5g", ("5g",)),
    ("5G", ("5G",)),
    ("g", None),
    # lower-case and/or/not are ordinary words
    ("green and steel", None),
    ("green or copper", None),
])
def test_syntax(query: str, expected: tuple[str, ...] | None) -> None:
    assert _match(query, TEXT) == expected


def test_phrase_stops_at_title() -> None:
    assert _match('"steel report"', "Report on the year", title="Green steel") is None
    assert _match("steel report", "Report on the year", title="Green steel") == ("steel", "report")


def test_title_and_text_are_both_searched_and_may_be_missing() -> None:
    assert _match("green AND steel", "steel", title="Green") == ("green", "steel")
    assert match(parse_query("green"), MatchText.of(None, None)) is None
    assert match(parse_query("NOT green"), MatchText.of(None, None)) == ()


def test_cjk_terms_match_as_substrings() -> None:
    text = "工信部：加快推动制造业绿色化发展，建设绿色工厂。Green factories in 河北"
    assert _match("绿色工厂", text) == ("绿色工厂",)
    assert _match("绿色 AND 制造", text) == ("绿色", "制造")
    assert _match("(智能制造 OR 绿色化) AND NOT 钢铁", text) == ("绿色化",)
    assert _match('"河北"', text) == ("河北",)
    assert _match("钢铁", text) is None
    assert _match("工厂 green", text) == ("工厂", "green")
    assert _match("グリーン工場", "スマート工場とグリーン工場") == ("グリーン工場",)


def test_languages_filter() -> None:
    zh = Rule("zh", parse_query("绿色"), frozenset({"zh"}))
    en = Rule("en", parse_query("green"), frozenset({"en"}))
    anywhere = Rule("any", parse_query("factory"))
    doc = MatchText.of("绿色 green", "factory")
    assert match_rules([zh, en, anywhere], doc, "zh") == {"zh": ("绿色",), "any": ("factory",)}
    assert match_rules([zh, en, anywhere], doc, "en") == {"en": ("green",), "any": ("factory",)}
    assert match_rules([zh, en, anywhere], doc, "fr") == {"any": ("factory",)}
    # Language detection can fail; such an article is still worth matching.
    assert match_rules([zh, en, anywhere], doc, None) == {
        "zh": ("绿色",), "en": ("green",), "any": ("factory",)}
    assert match_rules([en], MatchText.of("", "grey"), "en") == {}


def test_query_keeps_its_text() -> None:
    query = parse_query("green  AND steel")
    assert isinstance(query, Query) and query.text == "green  AND steel"
    assert query == parse_query("green  AND steel")


# -- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "reason", "position"), [
    ("", "empty query", 0),
    ("   ", "empty query", 0),
    ("(green AND steel", "unbalanced parenthesis", 0),
    ("green AND (steel OR (copper)", "unbalanced parenthesis", 10),
    ("green AND steel)", "unbalanced parenthesis", 15),
    ("(green) steel) OR (x", "unbalanced parenthesis", 13),
    (")(", "unbalanced parenthesis", 0),
    ('green AND "low carbon', "unterminated quote", 10),
    ('"green" "', "unterminated quote", 8),
    ('green ""', "empty phrase", 6),
    ('" - "', "empty phrase", 0),
    ("green AND", "dangling operator AND", 6),
    ("green OR", "dangling operator OR", 6),
    ("OR green", "dangling operator OR", 0),
    ("AND", "dangling operator AND", 0),
    ("green AND OR steel", "dangling operator AND", 6),
    ("green NOT", "dangling operator NOT", 6),
    ("(green OR) steel", "dangling operator OR", 7),
    ("(AND green)", "dangling operator AND", 1),
    ("gr*een", "'*' is only allowed at the end of a word", 2),
    ("green **", "'*' is only allowed at the end of a word", 6),
    ("*green", "'*' is only allowed at the end of a word", 0),
    ('steel "smart* factory"', "'*' is only allowed at the end of a word", 12),
    ("green *", "'*' must follow a letter or digit", 6),
    ("*", "'*' must follow a letter or digit", 0),
    ("low-*", "'*' must follow a letter or digit", 4),
    ("green ()", "empty parentheses", 6),
    ("green AND ( ) OR steel", "empty parentheses", 10),
    ("green & steel", "term has no letters or digits", 6),
])
def test_errors(query: str, reason: str, position: int) -> None:
    with pytest.raises(QueryError) as err:
        parse_query(query)
    assert (err.value.reason, err.value.position) == (reason, position)
    assert str(err.value) == f"{reason} at position {position}"
    assert isinstance(err.value, ValueError)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(QueryError, match="unbalanced parenthesis at position 0"):
        parse_query("(" * 10_000)
    with pytest.raises(QueryError, match="nested deeper"):
        parse_query("(" * 10_000 + "green" + ")" * 10_000)
    nested = parse_query("(" * 50 + "green" + ")" * 50)
    assert match(nested, MatchText.of(None, "green")) == ("green",)


def test_long_flat_queries_work() -> None:
    words = [f"w{i}" for i in range(5_000)]
    assert _match(" OR ".join(words), "w4999 w7") == ("w7", "w4999")
    assert _match(" ".join(words), "w1") is None
    assert _match("NOT " * 10_001 + "green", "green") is None


# -- properties -----------------------------------------------------------------------------------

QUERYISH = st.lists(st.sampled_from([
    "green", "steel", "manufactur*", "5G", "绿色", "low-carbon", "AND", "OR", "NOT", "and",
    "(", ")", "()", '"', '"green steel"', '""', "*", "st*el", "*x", "-", " ", "  ", "\u2019", "“", "”",
]), max_size=20).map("".join) | st.lists(st.sampled_from([
    "green", "steel", "manufactur*", "AND", "OR", "NOT", "(", ")", '"low carbon"', '"smart manufactur*"', "*",
]), max_size=20).map(" ".join)


def _parse_or_error(text: str) -> Query | None:
    try:
        return parse_query(text)
    except QueryError as err:
        assert 0 <= err.position <= len(text)
        assert err.reason and str(err) == f"{err.reason} at position {err.position}"
        return None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    _parse_or_error(text)


@settings(max_examples=300, deadline=None)
@given(QUERYISH, st.text(), st.text() | QUERYISH)
def test_valid_queries_match_any_text_safely(query: str, title: str, text: str) -> None:
    parsed = _parse_or_error(query)
    if parsed is not None:
        terms = match(parsed, MatchText.of(title, text))
        assert terms is None or all(isinstance(t, str) for t in terms)


# -- the default rules on real articles --------------------------------------------------------------

def test_seed_articles_are_copied_verbatim_and_complete() -> None:
    assert [p.name[:3] for p in SEED_ARTICLES] == ["000", "001", "002", "003", "004"]


ALL_THREE = {"green-manufacturing", "digital-manufacturing", "high-tech-upgrading"}


@pytest.mark.parametrize(("index", "expected"), [
    pytest.param(0, ALL_THREE, id="000-traditional-industries"),
    pytest.param(1, ALL_THREE, id="001-lighthouse-factories"),
    pytest.param(2, ALL_THREE, id="002-industrial-internet"),
    pytest.param(3, ALL_THREE, id="003-guiding-opinions"),
    pytest.param(4, {"green-manufacturing", "high-tech-upgrading"}, id="004-aerogel"),
])
def test_seed_articles_match_default_rules(index: int, expected: set[str]) -> None:
    text = SEED_ARTICLES[index].read_text(encoding="utf-8")
    # The article alone, as extraction should store it, without the teaser glued to 000.
    article = text.split(TEASER_START)[0]
    for body in (text, article):
        matches = match_rules(_default_rules(), MatchText.of(None, body), "en")
        assert set(matches) == expected
        assert all(matches.values())


def test_seed_article_terms_say_why() -> None:
    text = SEED_ARTICLES[4].read_text(encoding="utf-8")
    matches = match_rules(_default_rules(), MatchText.of(None, text), "en")
    assert {"aerogel", "new material*", "high-tech"} <= set(matches["high-tech-upgrading"])


def test_teaser_alone_matches_no_default_rule() -> None:
    teaser = (DATA / "carney_teaser.txt").read_text(encoding="utf-8")
    assert teaser.startswith(TEASER_START) and teaser.rstrip().endswith("Recommended Articles")
    assert SEED_ARTICLES[0].read_text(encoding="utf-8").endswith(teaser)
    for language in ("en", None):
        assert match_rules(_default_rules(), MatchText.of(TEASER_TITLE, teaser), language) == {}


# Each carries words a loose rule would catch: "nerves of steel" next to "cutting-edge", the music
# industry and AI, a bank's "industrial" clients, green bonds and digital transformation, factories
# halting production for a storm that was "upgraded".
IRRELEVANT = {
    "sports": (
        "Steelers edge Ravens in overtime thriller",
        "The Pittsburgh Steelers beat the Baltimore Ravens 23-20 in overtime on Sunday night, after "
        "kicker Chris Boswell converted a 44-yard field goal with 1:12 left on the clock. The quarterback"
        " threw for 278 yards and two touchdowns, while the defense held the Ravens to 31 rushing yards. "
        "\"Our guys showed nerves of steel in the fourth quarter,\" the head coach said. The win lifts "
        "Pittsburgh to 8-3 and keeps them a game clear at the top of the AFC North. The team's new "
        "training facility, which uses cutting-edge recovery equipment, was praised by several players "
        "after the game.",
    ),
    "celebrity": (
        "Pop star announces world tour, speaks out on AI deepfakes",
        "The singer announced on Tuesday that her new stadium tour will open in Tokyo next spring, with "
        "60 dates across Asia, Europe and North America. In an interview with a US magazine, the 35-year-"
        "old also spoke out against AI-generated deepfakes of artists, saying the music industry needs "
        "stronger protections and that she was working with her label on automated tools to detect fake "
        "tracks. Tickets go on sale next month, and a green vinyl edition of her latest album will be "
        "released on the opening night.",
    ),
    "bank": (
        "Lender's quarterly profit rises 6% on fee income",
        "Standard Chartered reported a 6 percent rise in third-quarter profit before tax to $1.8 billion "
        "on Thursday, beating analysts' expectations as wealth management fees and trading income offset "
        "a narrower net interest margin. Operating income grew 9 percent, helped by strong demand for "
        "investment products in Hong Kong and Singapore, while credit impairment charges rose on "
        "provisions for commercial real estate. The bank said lending to industrial and corporate clients"
        " was stable, its issuance of green bonds doubled, and it would continue the digital "
        "transformation of its retail business. It raised its full-year income guidance and announced a "
        "further $1.5 billion share buyback.",
    ),
    "weather": (
        "Typhoon Yagi upgraded to super typhoon as it nears southern China",
        "Typhoon Yagi was upgraded to a super typhoon on Thursday as it churned towards Hainan province "
        "with sustained winds of more than 230 kilometers per hour, the China Meteorological "
        "Administration said. Authorities in Guangdong and Hainan suspended ferry and rail services, "
        "closed schools and told factories in low-lying areas to halt production and move workers to "
        "safety. More than 400,000 people were evacuated. Forecasters warned of torrential rain of up to "
        "500 millimeters, and the storm is expected to weaken after making landfall in northern Vietnam "
        "on Saturday.",
    ),
    "zh-sports": (
        "中国女排3比0战胜日本队",
        "在昨晚进行的比赛中，中国女排以3比0战胜日本队，主教练表示球队的低迷期已经过去。",
    ),
}


@pytest.mark.parametrize("key", sorted(IRRELEVANT))
def test_irrelevant_news_matches_no_default_rule(key: str) -> None:
    title, text = IRRELEVANT[key]
    for language in ("en", "zh", None):
        assert match_rules(_default_rules(), MatchText.of(title, text), language) == {}


def test_chinese_rule_matches_chinese_manufacturing_news() -> None:
    title = "工信部等七部门印发《关于加快推动制造业绿色化发展的指导意见》"
    text = "到2030年，制造业绿色低碳转型成效显著，绿色工厂产值占制造业总产值比重超过40%。"
    matches = match_rules(_default_rules(), MatchText.of(title, text), "zh")
    assert matches == {"zh-manufacturing-transformation": ("制造", "工厂", "绿色工厂", "绿色低碳", "低碳")}
