"""STOP words: one list per language, and every word a message asks for is in it."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from portal.i18n import LOCALES
from portal.notifications.stop_words import STOP_WORDS, is_stop, stop_phrase
from tests.conftest import ROOT

# "Reply STOP", "reply “stop”", "回复TD退订", "回覆「取消」", "回覆STOP取消".
REPLY_EN = re.compile(r"\breply(?:\s+with)?\s+[\"'“‘「]?([A-Za-z]+)", re.IGNORECASE)
REPLY_ZH = re.compile(r"回[复覆復](?:[“‘「\"'])?([A-Za-z]+|[\u4e00-\u9fff]{2})")


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "ＳＴＯＰ",
        "stop please",
        "Please stop",
        "STOP, thank you",
        "stop all",
        "unsubscribe",
        "退订",
        "退訂",
        "取消",
        "取消。",
        "请退订",
        "退订，谢谢",
        "請退訂謝謝",
        "TD",
        "td",
        "停止",
        "唔該取消",
    ],
)
def test_stop_words_in_every_language_are_honoured(text):
    assert is_stop(text), text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "Can I pay next week?",
        "I lost my job, please call me",
        "don't stop",
        "stop by the branch",
        "我下周还款",
        "請致電給我",
        "谢谢",
        "please",
        "stopping",
    ],
)
def test_other_replies_are_not_stop_words(text):
    assert not is_stop(text), text


def test_each_language_has_its_own_list():
    assert set(STOP_WORDS) == set(LOCALES)
    assert {"退订", "取消"} <= STOP_WORDS["zh_Hans"] and {"退訂", "取消"} <= STOP_WORDS["zh_Hant"]
    assert stop_phrase("stop please") == "stop"


def _catalog_texts() -> list[str]:
    texts: list[str] = []
    for locale in LOCALES:
        with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            for message in read_po(fh):
                for part in (message.id, message.string):
                    texts += [p for p in (part if isinstance(part, tuple) else (part,)) if p]
    return texts


def test_every_word_a_message_asks_the_cardholder_to_reply_stops_messages():
    """Whatever any outgoing message (in any language) tells the cardholder to reply works."""
    asked = {word for text in _catalog_texts() for pattern in (REPLY_EN, REPLY_ZH) for word in pattern.findall(text)}
    assert {"STOP", "TD"} <= asked  # the link message's own words, so this test reads real messages
    missing = sorted(word for word in asked if not is_stop(word))
    assert not missing, f"messages ask for replies that are not STOP words: {missing}"
