"""The words that stop collection texts, per language, in one place.

A reply stops texts when, after folding case and full-width forms and dropping punctuation
and polite words ("please", "请", "謝謝"…), what is left is one of these words or phrases.
Every language's list applies to every reply: a cardholder may answer in any language.
Every word an outgoing message tells the cardholder to reply must be here (a test reads
the catalogs and checks). A reply that is not a STOP word goes to the case file for an
agent to read (``portal.notifications.optout.handle_inbound_sms``).
"""

from __future__ import annotations

import re
import unicodedata

STOP_WORDS: dict[str, frozenset[str]] = {
    # Carrier-standard keywords (CTIA) and the phrases people actually send.
    "en": frozenset(
        {
            "stop",
            "stop all",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "opt out",
            "optout",
            "stop texts",
            "stop messages",
            "stop texting",
            "stop texting me",
        }
    ),
    # "TD" (退订) is what Mainland messages ask for; "T" alone is too easily sent by mistake.
    "zh_Hans": frozenset({"退订", "取消", "取消订阅", "停止", "停止发送", "不要再发", "td"}),
    "zh_Hant": frozenset({"退訂", "取消", "取消訂閱", "停止", "停止發送", "不要再發", "td"}),
}

# Words that may come with a STOP word without changing what it means.
POLITE_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"please", "pls", "plz", "thanks", "thank you", "thankyou", "thx", "now"}),
    "zh_Hans": frozenset({"请", "谢谢", "谢谢你", "谢谢您", "吧", "了", "麻烦", "麻烦你"}),
    "zh_Hant": frozenset({"請", "謝謝", "謝謝你", "謝謝您", "唔該", "吧", "了", "麻煩", "麻煩你"}),
}

ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())
_POLITE = frozenset().union(*POLITE_WORDS.values())
# Longest first, so "谢谢您" goes before "谢谢".
_POLITE_CJK = sorted((w for w in _POLITE if not w.isascii()), key=len, reverse=True)
_PUNCTUATION = re.compile(r"[^\w\s]|_", re.UNICODE)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def _strip_cjk_politeness(token: str) -> str:
    """``请退订谢谢`` → ``退订``: polite words around a run of Chinese characters."""
    changed = True
    while changed and token:
        changed = False
        for word in _POLITE_CJK:
            if token.startswith(word) and token != word:
                token, changed = token[len(word) :], True
            if token.endswith(word) and token != word:
                token, changed = token[: -len(word)], True
    return token


def stop_phrase(text: str) -> str | None:
    """The STOP word or phrase a reply amounts to, or None when it is anything else."""
    folded = _fold(text)
    if folded in ALL_STOP_WORDS:
        return folded
    for polite in sorted((w for w in _POLITE if " " in w), key=len, reverse=True):
        folded = f" {folded} ".replace(f" {polite} ", " ").strip()
    tokens = [_strip_cjk_politeness(t) if not t.isascii() else t for t in folded.split()]
    kept = " ".join(t for t in tokens if t and t not in _POLITE)
    if kept in ALL_STOP_WORDS:
        return kept
    return None


def is_stop(text: str) -> bool:
    """True when an inbound text asks to stop."""
    return stop_phrase(text) is not None
