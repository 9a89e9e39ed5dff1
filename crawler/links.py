"""Links from a page to other stories, and the blocks of its extracted text they account for.

A story link is an <a> to another page whose anchor text reads like a headline: four words or
more, or 12+ characters in a script written without spaces. Shorter anchors ("Home", "Next »",
"2", "Share") are navigation. A story link stands alone when it is a block of its own, at most
after a short label ("Read more:", "Lesen Sie auch:", "延伸阅读" and a full-width colon), not
words inside a sentence; its card is the largest element around it that adds no more than a
summary to it. Listing detection (crawler/pagetype.py) and teaser removal (crawler/teasers.py)
both ask these questions of the blocks of extracted text; this module answers them from one pass
over the page's links, and works out cards and summaries only when they are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from lxml.etree import XPath

_HEADLINE_WORDS = 4
_HEADLINE_CHARS_UNSPACED = 12
# Anchors are indexed by their first characters, so that each block costs one dict lookup.
_KEY = 12
# What trafilatura puts before a list item, and bullets that templates put there themselves.
LIST_MARKERS = "-*•· "
# ... and around a table row ("| cell | cell |").
_CELL = "| "
_NOT_A_PAGE = ("#", "javascript:", "mailto:", "tel:")
# Four words need at least seven characters.
_LONG_LINKS = XPath("//a[@href][string-length(normalize-space(.)) >= 7]")
# A label before a link: "Read more:", "Lesen Sie auch:", "ALSO READ |", "Next article »": short,
# and ending in a separator (a colon, bar, guillemet, arrow, dash or the full-width colon).
LABEL_CHARS = 30
LABEL_ENDS = ":|»>\u203a\u2192\u2013\u2014-\uff1a\u2502"
# A card adds at most a summary to its link: one or two sentences (sample_site's summaries have
# at most 130 characters, bench/site.py's 160).
SUMMARY_CHARS = 300
# How far up from a link to look for the element after it.
_WRAPPER_LEVELS = 3
_INLINE = {"a", "b", "strong", "em", "i", "span", "u", "small", "mark", "abbr", "time", "font", "sup", "sub"}


@dataclass(frozen=True)
class StoryLinks:
    """A page's links to other stories, by anchor text (whitespace-collapsed, casefolded)."""

    anchors: frozenset[str]
    _elements: dict[str, list[Any]] = field(default_factory=dict, compare=False, repr=False)
    _by_key: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    _joined: str = field(default="", compare=False, repr=False)
    _cards: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)
    _summaries: list[frozenset[str]] = field(default_factory=list, compare=False, repr=False)

    def leading(self, block: str) -> str | None:
        """Return the story link's anchor text the normalized block starts with, if any."""
        found = [a for a in self._by_key.get(block[:_KEY], ()) if block.startswith(a)]
        return max(found, key=len) if found else None

    def inside(self, block: str) -> bool:
        """Return whether the normalized block is part of one link's anchor (<a><h3>..</h3><p>..</p></a>)."""
        return len(block) >= _KEY and block in self._joined

    def containing(self, block: str) -> str | None:
        """Return the anchor text the normalized block is part of, if any."""
        if len(block) < _KEY:
            return None
        at = self._joined.find(block)
        if at < 0:
            return None
        start = self._joined.rfind("\n", 0, at) + 1
        end = self._joined.find("\n", at)
        anchor = self._joined[start:] if end < 0 else self._joined[start:end]
        return anchor if block in anchor else None

    def summaries(self, alone: bool = False) -> frozenset[str]:
        """Return the texts (normalized) of the elements right after the story links (only those that
        stand alone, if `alone`): their summaries."""
        if not self._summaries:
            found: dict[str, bool] = {}
            for anchor, links in self._elements.items():
                for link in links:
                    summary, parent = _summary_after(link)
                    if summary:
                        # A teaser's own summary lies in its card (the element holding link and summary
                        # adds no more than that), not in the next paragraph of the article.
                        found[summary] = found.get(summary, False) or (_stands_alone(link, anchor) and _text_within(
                            parent, len(anchor) + LABEL_CHARS + SUMMARY_CHARS) is not None)
            self._summaries.append(frozenset(found))
            self._summaries.append(frozenset(s for s, teaser in found.items() if teaser))
        return self._summaries[1 if alone else 0]

    def card(self, anchor: str) -> str | None:
        """Return the text of the card of a link with this anchor that stands alone (anchor, label and
        summary, normalized), or None if every such link is words inside a sentence."""
        if anchor not in self._cards:
            # Worked out only for anchors that lead a block of the text: a few per page, not every link.
            alone = [link for link in self._elements.get(anchor, ()) if _stands_alone(link, anchor)]
            self._cards[anchor] = max((_card_text(link, anchor) for link in alone), key=len, default=None)
        return self._cards[anchor]


def story_links(tree: Any, url: str) -> StoryLinks:
    """Collect the page's links to other pages whose anchor text reads like a headline."""
    here = urlsplit(url)
    elements: dict[str, list[Any]] = {}
    # lxml keeps links with too little text for a headline out in C; most links are navigation.
    for link in _LONG_LINKS(tree):
        href = (link.get("href") or "").strip()
        if not href or href.startswith(_NOT_A_PAGE):
            continue
        words = link.text_content().split()
        if not _headline_like(words) or _same_page(href, url, here):
            continue  # this page itself (#comments, ?page=2): not another story
        elements.setdefault(" ".join(words).casefold(), []).append(link)
    by_key: dict[str, list[str]] = {}
    for anchor in elements:
        by_key.setdefault(anchor[:_KEY], []).append(anchor)
    return StoryLinks(frozenset(elements), elements, {k: tuple(v) for k, v in by_key.items()}, "\n".join(elements))


def _same_page(href: str, url: str, here: SplitResult) -> bool:
    if href.startswith("?"):
        return True
    if href.startswith("/") and not href.startswith("//"):  # the common case, without urljoin's cost
        return href.split("?", 1)[0].split("#", 1)[0] == here.path
    target = urlsplit(urljoin(url, href))
    return (target.hostname, target.path) == (here.hostname, here.path)


def _headline_like(words: list[str]) -> bool:
    if len(words) >= _HEADLINE_WORDS:
        return True
    # One long "word": a headline in a script without spaces, unless it is a bare URL.
    return len(words) == 1 and len(words[0]) >= _HEADLINE_CHARS_UNSPACED and "://" not in words[0] and not (
        words[0].startswith("www."))


def _stands_alone(link: Any, anchor: str) -> bool:
    # A link inside a sentence has the sentence's words right after it, in the same run of text,
    # also around inline wrappers (<u><a>By-laws passed in 2012</a></u> are still...), or words
    # before it that are no label ("As <a>our report</a> showed").
    node = link
    while True:
        if _continues(node):
            return False
        parent = node.getparent()
        if parent is None or parent.tag not in _INLINE:
            break
        node = parent
    before = norm(_run_before(link))
    # Nothing, a label, or the headline again (a copy for screen readers, as one Fundus site has).
    return not before or (len(before) <= LABEL_CHARS and before[-1] in LABEL_ENDS) or before == anchor


def _continues(node: Any) -> bool:
    if _has_words(node.tail):
        return True
    following = node.getnext()
    if following is None or following.tag not in _INLINE:
        return False
    text = following.text_content()
    # An inline element right after: the sentence going on (" said on Monday", "said"), or the
    # card's summary in a <span> of its own ("Industrial internet, big data...").
    first = next((c for c in text if c.isalpha()), "")
    return _has_words(text) and (bool(node.tail) or text[:1].isspace() or first.islower())


def _run_before(link: Any) -> str:
    # The text before the link back to the start of its line: the inline siblings before it and the
    # text opening its inline wrappers, up to the first block element.
    parts: list[str] = []
    node = link
    while True:
        sibling = node.getprevious()
        while sibling is not None:
            parts.append(sibling.tail or "")
            if sibling.tag not in _INLINE:
                return "".join(reversed(parts))
            parts.append(sibling.text_content())
            sibling = sibling.getprevious()
        parent = node.getparent()
        if parent is None:
            break
        parts.append(parent.text or "")
        if parent.tag not in _INLINE:
            break
        node = parent
    return "".join(reversed(parts))


def _summary_after(link: Any) -> tuple[str | None, Any]:
    # The element after the link, or after the heading or cell that wraps it (<h3><a/></h3><p>...</p>),
    # and the element holding both.
    node = link
    for _ in range(_WRAPPER_LEVELS):
        following = node.getnext()
        if following is not None:
            return _text_within(following, SUMMARY_CHARS) or None, node.getparent()
        node = node.getparent()
        if node is None:
            break
    return None, None


def _card_text(link: Any, anchor: str) -> str:
    card = anchor
    element = link.getparent()
    while element is not None and element.tag not in ("body", "html"):
        text = _text_within(element, len(anchor) + LABEL_CHARS + SUMMARY_CHARS)
        if text is None:
            break
        card = text
        element = element.getparent()
    return card


def _text_within(element: Any, limit: int) -> str | None:
    # The element's text, normalized, if it is at most `limit` characters: read piece by piece so
    # that a container holding the whole article is given up on early, not copied out.
    pieces, size = [], 0
    for piece in element.itertext():
        pieces.append(piece)
        size += len(piece)
        if size > 2 * limit:  # whitespace the normalization removes may make up some of it
            return None
    text = norm("".join(pieces))
    return text if len(text) <= limit else None


def _has_words(text: str | None) -> bool:
    return bool(text) and any(c.isalnum() for c in text or "")


def norm(text: str) -> str:
    """Collapse whitespace and casefold, as anchors are stored."""
    return " ".join(text.split()).casefold()


def block_of(line: str) -> str:
    """Return a line of extracted text as a block to look up: normalized, list marker removed."""
    return norm(line.lstrip(LIST_MARKERS).strip(_CELL))
