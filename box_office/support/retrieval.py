"""Finding the FAQ entry a question is about: jieba word segmentation for Chinese, a plain
tokenizer for English, and Okapi BM25 over the entries. Pure (jieba's dictionary ships inside
its package and is loaded once, on first use).

BM25 ranks; it does not say whether the best entry answers the question at all. ``coverage``
does: the share of the question's weight (idf) that the best entry contains. A question whose
important words the FAQ never uses ("who plays the drums?") has low coverage and goes to a human.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jieba

jieba.setLogLevel(logging.WARNING)
_init_lock = threading.Lock()
_initialised = False

_CJK = re.compile(r"[\u3400-\u9fff]")
_PIECES = re.compile(r"[\u3400-\u9fff]+|[A-Za-z0-9]+")
_STOP_EN_WORDS = """
    a an the is are was were be been do does did i me my we our you your it its this that
    these those to of in on at for from with and or but if can could would should will shall
    may might must please hi hello thanks thank there here what when where which who how why
    any anything some get got have has had am so as by about into up out just also than then
    too very tell know let us ok okay want need bring take use go going come coming allowed
    allow still does will would there way much many any one i'm im ll don't dont"""
_STOP_ZH_WORDS = """
    的 了 吗 呢 吧 啊 呀 么 嘛 是 在 有 我 我们 你 你们 请问 请 问
    一下 这个 那个 什么 怎么 怎么样 怎样 如何 可以 能 能不能 可不可以 会
    要 想 还 都 也 就 和 与 或 及 哪 哪里 哪儿 多少 几 好 谢谢 您好
    你好 吗？ ， 。 ？ ！ 需要 是否 有没有 带 去 进 用 到 个 一个 人
    没 没有 能否 时候 方便 行 不行 对 吧 里 里面 现场 过去 得 着 让
    给 被 把"""
STOP_EN = frozenset(_STOP_EN_WORDS.split())
STOP_ZH = frozenset(_STOP_ZH_WORDS.split())
_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    """A light English stemmer: enough to meet 'bags'/'bag', 'parking'/'park', 'refunds'/'refund'."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str, *, characters: bool = True) -> list[str]:
    """Search terms of a text: jieba's search-mode words for Chinese runs (long words also give
    their parts, so 停车场 meets 停车), stemmed lower-case words for the rest; stop words dropped."""
    _ensure_jieba()
    out: list[str] = []
    for piece in _PIECES.findall(text):
        if _CJK.match(piece):
            for word in jieba.cut_for_search(piece):
                if word not in STOP_ZH and word.strip():
                    out.append(word)
                    if (
                        characters and len(word) >= 2
                    ):  # single characters carry meaning in Chinese (票, 包, 车)
                        out.extend(ch for ch in word if ch not in STOP_ZH)
        else:
            word = piece.lower()
            if word not in STOP_EN:
                out.append(_stem(word))
    return out


def coverage_words(text: str, vocabulary: Mapping[str, float]) -> list[str]:
    """The words a question's coverage is measured on: its whole words, except that a Chinese
    word the FAQ never uses whose characters it all uses counts as those characters (jieba
    reads 带水 in 可以带水吗 as one word; the FAQ knows 水). A word with an unknown character
    (鼓手: 鼓) stays whole and unknown, and so lowers the coverage as it should."""
    out: list[str] = []
    for word in tokens(text, characters=False):
        if word in vocabulary or not _CJK.match(word) or len(word) < 2:
            out.append(word)
            continue
        parts = [ch for ch in word if ch not in STOP_ZH]
        out.extend(parts if parts and all(ch in vocabulary for ch in parts) else [word])
    return out


def _ensure_jieba() -> None:
    global _initialised
    if not _initialised:
        with _init_lock:
            if not _initialised:
                jieba.initialize()
                _initialised = True


@dataclass(frozen=True)
class Hit:
    index: int
    score: float
    coverage: float
    """Share of the question's idf weight found in this entry (0..1)."""


class Bm25:
    """Okapi BM25 (k1=1.5, b=0.75) over documents given as token lists."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.counts = [Counter(doc) for doc in documents]
        self.lengths = [len(doc) for doc in documents]
        self.n = len(documents)
        self.average = (sum(self.lengths) / self.n) if self.n else 0.0
        frequency: Counter[str] = Counter()
        for counts in self.counts:
            frequency.update(counts.keys())
        # BM25+-style idf, never negative: a word in every entry still counts a little
        self.idf = {term: math.log(1 + (self.n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
        self.unknown_idf = math.log(1 + (self.n + 0.5) / 0.5)

    def rank(self, query: Sequence[str], words: Sequence[str] | None = None) -> list[Hit]:
        """Every document's score, best first, with the coverage of ``words`` (default: the
        query) in each: the whole words of a question, not the single characters that
        segmentation adds for recall (common ones like 天 or 出 would claim a match)."""
        terms = list(dict.fromkeys(query))
        if not terms or not self.n:
            return []
        measured = list(dict.fromkeys(words if words is not None else terms))
        weights = {t: self.idf.get(t, self.unknown_idf) for t in measured}
        total = sum(weights.values())
        hits = []
        for i, counts in enumerate(self.counts):
            score = 0.0
            covered = 0.0
            norm = (
                self.k1 * (1 - self.b + self.b * self.lengths[i] / self.average) if self.average else self.k1
            )
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    score += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            for term in measured:
                if counts.get(term, 0):
                    covered += weights[term]
            hits.append(Hit(i, score, covered / total if total else 0.0))
        hits.sort(key=lambda h: (-h.score, h.index))
        return hits
