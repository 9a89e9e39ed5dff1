"""Keyword rules: a news-search query language (AND, OR, NOT, "phrases", wildcard*), pure Python.

Matching is case-insensitive and on whole words: the text is cut into word tokens once per
article (MatchText), and every rule is evaluated against those tokens. Terms in scripts written
without spaces (Chinese, Japanese) match as substrings instead.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from crawler.examples import Likeness

_WORD = re.compile(r"\w+")
# Han, kana and CJK compatibility ideographs: scripts written without spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_QUOTES = "\"“”"
_BREAKS = "()" + _QUOTES  # end a word even without a space: green(steel) is two terms
_OPERATORS = ("AND", "OR", "NOT")
# Parsing recurses about five frames per level: 100 levels stay far below Python's limit of
# 1000, and no real query nests more than a few.
MAX_DEPTH = 100


class QueryError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based offset of the problem."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position


@dataclass(frozen=True)
class _Term:
    """A word or a phrase: a sequence of tokens, the last one possibly a prefix (wildcard)."""

    text: str  # as written in the query, without quotes: what `match` reports
    tokens: tuple[str, ...]
    wildcard: bool = False
    cjk: bool = False


@dataclass(frozen=True)
class _Op:
    kind: str  # AND | OR | NOT
    args: tuple[_Node, ...]


_Node: TypeAlias = "_Term | _Op"


@dataclass(frozen=True)
class Query:
    """A parsed rule query."""

    text: str
    _tree: _Node = field(repr=False, compare=False)


@dataclass(frozen=True)
class Rule:
    """A named query, example articles (`like`), or both, optionally limited to articles in some
    languages (ISO 639-1 codes). crawler.matching evaluates both parts."""

    name: str
    query: Query | None
    languages: frozenset[str] | None = None
    like: Likeness | None = None

    def applies_to(self, language: str | None) -> bool:
        """False for an article detected in a language the rule is not for."""
        return self.languages is None or language is None or language in self.languages


# -- tokenizing the query ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD | PHRASE | AND | OR | NOT | LPAREN | RPAREN
    text: str  # a phrase's text is what is between its quotes
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch in _QUOTES:
            end = next((j for j in range(i + 1, n) if text[j] in _QUOTES), -1)
            if end < 0:
                raise QueryError("unterminated quote", i)
            toks.append(_Tok("PHRASE", text[i + 1:end], i))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _BREAKS:
                j += 1
            word = text[i:j]
            toks.append(_Tok(word if word in _OPERATORS else "WORD", word, i))
            i = j
    _check_parentheses(toks)
    return toks


def _check_parentheses(toks: list[_Tok]) -> None:
    # Checked up front, without recursion, so that 10,000 "(" is a plain unbalanced parenthesis.
    open_at: list[int] = []
    for tok in toks:
        if tok.kind == "LPAREN":
            open_at.append(tok.pos)
        elif tok.kind == "RPAREN":
            if not open_at:
                raise QueryError("unbalanced parenthesis", tok.pos)
            open_at.pop()
    if open_at:
        raise QueryError("unbalanced parenthesis", open_at[0])


def _term(tok: _Tok) -> _Term:
    core = tok.text.strip()
    start = tok.pos + (1 if tok.kind == "PHRASE" else 0) + len(tok.text) - len(tok.text.lstrip())
    star = core.find("*")
    if star >= 0 and star != len(core) - 1:
        raise QueryError("'*' is only allowed at the end of a word", start + star)
    wildcard = star >= 0
    body = core[:-1] if wildcard else core
    if wildcard and not _WORD.fullmatch(body[-1:]):
        raise QueryError("'*' must follow a letter or digit", start + star)
    if _CJK.search(body):
        return _Term(core, (" ".join(body.casefold().split()),), cjk=True)
    tokens = tuple(_WORD.findall(body.casefold()))
    if not tokens:
        raise QueryError("empty phrase" if tok.kind == "PHRASE" else "term has no letters or digits", tok.pos)
    return _Term(core, tokens, wildcard)


# -- parsing: OR of ANDs of (NOT) primaries -----------------------------------------------------

class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def parse(self) -> _Node:
        if not self.toks:
            raise QueryError("empty query", 0)
        node = self._or()
        if self.i < len(self.toks):  # only a ")" stops _or early, and parentheses balance
            raise QueryError("unbalanced parenthesis", self.toks[self.i].pos)
        return node

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self) -> _Node:
        args = [self._and()]
        while (tok := self._peek()) is not None and tok.kind == "OR":
            self.i += 1
            args.append(self._and())
        return args[0] if len(args) == 1 else _Op("OR", tuple(args))

    def _and(self) -> _Node:
        args = [self._not()]
        while (tok := self._peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.i += 1
            args.append(self._not())  # adjacent terms mean AND, as in news search
        return args[0] if len(args) == 1 else _Op("AND", tuple(args))

    def _not(self) -> _Node:
        negate = False
        while (tok := self._peek()) is not None and tok.kind == "NOT":
            self.i += 1
            negate = not negate  # a loop, not recursion: NOT NOT x is x, at any length
        node = self._primary()
        return _Op("NOT", (node,)) if negate else node

    def _primary(self) -> _Node:
        tok = self._peek()
        if tok is not None and tok.kind in ("WORD", "PHRASE"):
            self.i += 1
            return _term(tok)
        if tok is not None and tok.kind == "LPAREN":
            return self._group(tok)
        raise self._missing_operand(tok)

    def _group(self, open_tok: _Tok) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"parentheses nested deeper than {MAX_DEPTH}", open_tok.pos)
        self.i += 1
        node = self._or()
        self.i += 1  # the ")" that _check_parentheses guarantees
        self.depth -= 1
        return node

    def _missing_operand(self, tok: _Tok | None) -> QueryError:
        # A primary follows the start, "(" or an operator. Parentheses balance and the query is
        # not empty, so what is missing is an operator's operand or a group's content.
        prev = self.toks[self.i - 1] if self.i > 0 else None
        if prev is not None and prev.kind in _OPERATORS:
            return QueryError(f"dangling operator {prev.text}", prev.pos)
        if tok is not None and tok.kind in _OPERATORS:
            return QueryError(f"dangling operator {tok.text}", tok.pos)
        return QueryError("empty parentheses", prev.pos if prev is not None else 0)


def parse_query(text: str) -> Query:
    """Parse a rule query; raise QueryError with the position of the first problem."""
    return Query(text, _Parser(text).parse())


# -- matching ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MatchText:
    """One article's text, prepared once for every rule."""

    words: frozenset[str]
    sorted_words: tuple[str, ...]  # for wildcard prefixes by bisection
    joined: str  # " title words \n body words " for phrase search
    folded: str  # casefolded text for CJK substring search

    @classmethod
    def of(cls, title: str | None, text: str | None) -> MatchText:
        """Prepare the title and body of an article for matching."""
        parts = [(title or "").casefold(), (text or "").casefold()]
        tokens = [_WORD.findall(part) for part in parts]
        words = frozenset(tokens[0]) | frozenset(tokens[1])
        # The newline keeps a phrase from running from the title's last word into the body.
        joined = " \n ".join(" ".join(t) for t in tokens)
        return cls(words, tuple(sorted(words)), f" {joined} ", "\n".join(parts))


def _has_prefix(doc: MatchText, prefix: str) -> bool:
    i = bisect.bisect_left(doc.sorted_words, prefix)
    return i < len(doc.sorted_words) and doc.sorted_words[i].startswith(prefix)


def _occurs(term: _Term, doc: MatchText) -> bool:
    if term.cjk:
        return term.tokens[0] in doc.folded
    if len(term.tokens) == 1:
        word = term.tokens[0]
        return _has_prefix(doc, word) if term.wildcard else word in doc.words
    if not all(t in doc.words for t in term.tokens[:-1]):
        return False  # cheap set lookups spare most phrases the substring search
    head = " " + " ".join(term.tokens)
    return head in doc.joined if term.wildcard else head + " " in doc.joined


def _evaluate(node: _Node, doc: MatchText, hits: list[str]) -> bool:
    if isinstance(node, _Term):
        found = _occurs(node, doc)
        if found:
            hits.append(node.text)
        return found
    if node.kind == "NOT":
        return not _evaluate(node.args[0], doc, [])
    if node.kind == "AND":
        scratch: list[str] = []  # a failed AND contributes nothing
        if all(_evaluate(arg, doc, scratch) for arg in node.args):
            hits.extend(scratch)
            return True
        return False
    matched = False
    for arg in node.args:  # every alternative, so the terms give all the reasons it matched
        matched = _evaluate(arg, doc, hits) or matched
    return matched


def match(query: Query, doc: MatchText) -> tuple[str, ...] | None:
    """Return the query terms that made it match (in query order), or None if it does not match."""
    hits: list[str] = []
    if not _evaluate(query._tree, doc, hits):
        return None
    return tuple(dict.fromkeys(hits))


def present_terms(query: Query, doc: MatchText) -> tuple[str, ...]:
    """Every term of the query that occurs in the text, whatever the operators around it (to
    explain a rule that did not match: which of its words the article has)."""
    found: list[str] = []

    def walk(node: _Node) -> None:
        if isinstance(node, _Term):
            if _occurs(node, doc):
                found.append(node.text)
        else:
            for arg in node.args:
                walk(arg)

    walk(query._tree)
    return tuple(dict.fromkeys(found))


def match_rules(rules: Iterable[Rule], doc: MatchText, language: str | None) -> dict[str, tuple[str, ...]]:
    """Return rule name -> terms for every rule whose query matches (rules for other languages, and
    rules without a query, skipped; crawler.matching adds the `like` part)."""
    out: dict[str, tuple[str, ...]] = {}
    for rule in rules:
        if rule.query is None or not rule.applies_to(language):
            continue
        terms = match(rule.query, doc)
        if terms is not None:
            out[rule.name] = terms
    return out


# -- the tree, for code that translates queries (scheduler.search) --------------------------------

@dataclass(frozen=True)
class QueryPart:
    """One node of a parsed query: a TERM (a word or phrase: `text` as written, `tokens` casefolded,
    the last a prefix if `wildcard`, one substring if `cjk`), or AND, OR, NOT over `parts`."""

    kind: str  # TERM | AND | OR | NOT
    parts: tuple[QueryPart, ...] = ()
    text: str = ""
    tokens: tuple[str, ...] = ()
    wildcard: bool = False
    cjk: bool = False


def walk(query: Query) -> QueryPart:
    """Return a parsed query's tree as public values (NOT NOT x already reads x)."""
    def part(node: _Node) -> QueryPart:
        if isinstance(node, _Term):
            return QueryPart("TERM", text=node.text, tokens=node.tokens, wildcard=node.wildcard, cjk=node.cjk)
        return QueryPart(node.kind, tuple(part(arg) for arg in node.args))

    return part(query._tree)
