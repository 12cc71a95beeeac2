"""Text as the answer index sees it: one form for a question and a guide alike.

Everything is matched in one shape: NFKC (full-width letters and digits become plain
ones), lower case, and Traditional Chinese folded to Simplified with OpenCC, so a
question in either script finds a passage in either and one Chinese index serves both.
English words lose common endings (a few rules, enough for "payments" to find "payment")
and the words that carry no meaning ("the", "can", "my"); Chinese is cut into words by
jieba (rjieba, its Rust port) in its search mode, which also yields the shorter words
inside a long one (还款额 → 还款, 还款额), and loses its particles (的, 了, 吗).
No Flask here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import opencc
import rjieba

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")

_ENGLISH_STOP = """a about above after again all am an and any are as at be been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers him
    his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves us please hi hello thanks thank im ive id dont doesnt
    cant wont didnt isnt get got go going want know tell need really also still much many one"""
ENGLISH_STOP = frozenset(_ENGLISH_STOP.split())
# Kept out of ENGLISH_STOP although common: "not", "no", "can't" matter to the escalation
# rules, which read the normalised text, not these tokens.

_CHINESE_STOP = """的 了 吗 呢 吧 啊 呀 哦 嗯 么 是 我 你 您 他 她 它 我们 你们 在 和 与 及 就
    都 也 还是 或 或者 这 那 这个 那个 这些 那些 一个 有 没 个 会 能 可以 要 想 请问
    请 问 一下 怎么 怎样 如何 什么 甚么 为什么 哪 哪里 吗 呢 啦 咩 嘅 喺 係 唔 咁 点
    点样 乜 乜嘢 冇 佢 我哋 你哋 啲 嘢 咗 紧 过 着 把 被 给 对 让 从 到 又 很 太
    多 少 吗 么 呀 嘛 哈 喔 诶 欸 吓"""
CHINESE_STOP = frozenset(_CHINESE_STOP.split())


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """NFKC, lower case, Traditional → Simplified, one space between words."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    if _CJK.search(text):
        text = _converter().convert(text)
    return _SPACES.sub(" ", text).strip()


def stem(word: str) -> str:
    """A light English stemmer: enough for plurals and -ing/-ed forms to meet."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, keep in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "sses", "zes")):
                continue
            base = word[: -len(suffix)] + keep
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # stopped → stop, paying → pay
            return base
    return word


def tokens(text: str) -> list[str]:
    """The index terms of ``text`` (normalised first)."""
    found: list[str] = []
    for run in _RUNS.findall(normalise(text)):
        if _CJK.match(run):
            found.extend(w for w in rjieba.cut_for_search(run) if w not in CHINESE_STOP)
        else:
            word = run.replace("'", "")
            if word not in ENGLISH_STOP:
                found.append(stem(word))
    return found
