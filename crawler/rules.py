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
from typing import Union

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_OPERATORS = ("AND", "OR", "NOT")
# Deeper nesting than this is a typo or an attack, not a query.
MAX_DEPTH = 100


class QueryError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based offset of the problem."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position


@dataclass(frozen=True)
class Term:
    """A word or a phrase: a sequence of tokens, the last one possibly a prefix (wildcard)."""

    text: str
    tokens: tuple[str, ...]
    wildcard: bool = False
    cjk: bool = False


@dataclass(frozen=True)
class Op:
    kind: str  # AND | OR | NOT
    args: tuple[Node, ...]


Node = Union[Term, Op]  # noqa: UP007 - a runtime alias used in isinstance-free recursion


@dataclass(frozen=True)
class Query:
    text: str
    tree: Node = field(repr=False, compare=False)


@dataclass(frozen=True)
class Rule:
    name: str
    query: Query
    languages: frozenset[str] | None = None


# -- tokenizing the query ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD | PHRASE | AND | OR | NOT | LPAREN | RPAREN
    text: str
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
        elif ch in "\"“”":
            end = _closing_quote(text, i + 1)
            if end < 0:
                raise QueryError("unterminated quote", i)
            toks.append(_Tok("PHRASE", text[i + 1:end], i))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()\"“”":
                j += 1
            word = text[i:j]
            toks.append(_Tok(word if word in _OPERATORS else "WORD", word, i))
            i = j
    return toks


def _closing_quote(text: str, start: int) -> int:
    for j in range(start, len(text)):
        if text[j] in "\"“”":
            return j
    return -1


def _term(tok: _Tok) -> Term:
    raw = tok.text
    star = raw.find("*")
    if star >= 0 and (star != len(raw) - 1 or raw.count("*") > 1):
        raise QueryError("'*' is only allowed at the end of a word", tok.pos + star)
    wildcard = raw.endswith("*")
    body = raw[:-1] if wildcard else raw
    if _CJK.search(body):
        return Term(raw, (body.casefold(),), wildcard=False, cjk=True)
    tokens = tuple(_WORD.findall(body.casefold()))
    if not tokens:
        what = "empty phrase" if tok.kind == "PHRASE" else "a term needs letters or digits"
        raise QueryError(what, tok.pos)
    return Term(raw.strip(), tokens, wildcard)


# -- parsing: OR of ANDs of (NOT) primaries, with an explicit depth guard ------------------------

class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def parse(self) -> Node:
        if not self.toks:
            raise QueryError("empty query", 0)
        node = self._or()
        if self.i < len(self.toks):
            tok = self.toks[self.i]
            raise QueryError("unbalanced parenthesis" if tok.kind == "RPAREN" else f"unexpected {tok.text!r}",
                             tok.pos)
        return node

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self) -> Node:
        args = [self._and()]
        while (tok := self._peek()) is not None and tok.kind == "OR":
            self.i += 1
            args.append(self._and())
        return args[0] if len(args) == 1 else Op("OR", tuple(args))

    def _and(self) -> Node:
        args = [self._not()]
        while (tok := self._peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.i += 1
            args.append(self._not())  # adjacent terms mean AND, as in news search
        return args[0] if len(args) == 1 else Op("AND", tuple(args))

    def _not(self) -> Node:
        tok = self._peek()
        if tok is not None and tok.kind == "NOT":
            self.i += 1
            return Op("NOT", (self._primary(),))
        return self._primary()

    def _primary(self) -> Node:
        tok = self._peek()
        if tok is None:
            raise QueryError("expected a term after the operator", len(self.text))
        if tok.kind in ("WORD", "PHRASE"):
            self.i += 1
            return _term(tok)
        if tok.kind == "LPAREN":
            return self._group(tok)
        if tok.kind == "RPAREN":
            raise QueryError("unbalanced parenthesis" if self.depth == 0 else "empty parentheses", tok.pos)
        raise QueryError(f"expected a term, found {tok.text}", tok.pos)

    def _group(self, open_tok: _Tok) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"parentheses nested deeper than {MAX_DEPTH}", open_tok.pos)
        self.i += 1
        node = self._or()
        tok = self._peek()
        if tok is None or tok.kind != "RPAREN":
            raise QueryError("unbalanced parenthesis", open_tok.pos)
        self.i += 1
        self.depth -= 1
        return node


def parse_query(text: str) -> Query:
    """Parse a rule query; raise QueryError with the position of the first problem."""
    return Query(text, _Parser(text).parse())


# -- matching ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MatchText:
    """One article's text, prepared once for every rule."""

    words: frozenset[str]
    sorted_words: tuple[str, ...]
    joined: str  # " w1 w2 ... " for phrase search
    raw: str  # casefolded text for CJK substring search

    @classmethod
    def of(cls, title: str | None, text: str | None) -> MatchText:
        """Prepare the title and body of an article for matching."""
        raw = f"{title or ''}\n{text or ''}".casefold()
        tokens = _WORD.findall(raw)
        words = frozenset(tokens)
        return cls(words, tuple(sorted(words)), f" {' '.join(tokens)} ", raw)


def _has_prefix(doc: MatchText, prefix: str) -> bool:
    i = bisect.bisect_left(doc.sorted_words, prefix)
    return i < len(doc.sorted_words) and doc.sorted_words[i].startswith(prefix)


def _term_hits(term: Term, doc: MatchText) -> bool:
    if term.cjk:
        return term.tokens[0] in doc.raw
    if len(term.tokens) == 1:
        word = term.tokens[0]
        return _has_prefix(doc, word) if term.wildcard else word in doc.words
    if not all(t in doc.words for t in term.tokens[:-1]):
        return False
    head = " " + " ".join(term.tokens)
    if not term.wildcard:
        return head + " " in doc.joined
    return head in doc.joined  # the last word may continue: "smart manufactur*"


def _evaluate(node: Node, doc: MatchText, hits: list[str]) -> bool:
    if isinstance(node, Term):
        found = _term_hits(node, doc)
        if found:
            hits.append(node.text.strip("\"“”"))
        return found
    if node.kind == "NOT":
        return not _evaluate(node.args[0], doc, [])
    if node.kind == "AND":
        scratch: list[str] = []
        for arg in node.args:
            if not _evaluate(arg, doc, scratch):
                return False
        hits.extend(scratch)
        return True
    matched = False
    for arg in node.args:  # every alternative, so the terms say all the reasons it matched
        matched = _evaluate(arg, doc, hits) or matched
    return matched


def match(query: Query, doc: MatchText) -> tuple[str, ...] | None:
    """Return the query terms that made it match (in query order), or None if it does not match."""
    hits: list[str] = []
    if not _evaluate(query.tree, doc, hits):
        return None
    return tuple(dict.fromkeys(hits))


def match_rules(rules: Iterable[Rule], doc: MatchText, language: str | None) -> dict[str, tuple[str, ...]]:
    """Return rule name -> terms for every rule that matches (rules for other languages skipped)."""
    out: dict[str, tuple[str, ...]] = {}
    for rule in rules:
        if rule.languages is not None and language is not None and language not in rule.languages:
            continue
        terms = match(rule.query, doc)
        if terms is not None:
            out[rule.name] = terms
    return out
