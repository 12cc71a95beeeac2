"""PDF streams are deflated at zlib's default level, and still inflate to what was written."""

from __future__ import annotations

import zlib

import pydyf

from portal.agreements.render import STREAM_LEVEL, _deflate_at_default_level

SAMPLE = b"BT /F1 10 Tf 72 712 Td [(Repayment agreement 2026-12-28 150.33)] TJ ET\n" * 400


def stream_body(stream: pydyf.Stream) -> bytes:
    data = stream.data
    return data[data.index(b"stream\n") + len(b"stream\n") : data.rindex(b"\nendstream")]


def test_streams_use_the_default_level_and_inflate_back():
    _deflate_at_default_level()
    _deflate_at_default_level()  # a second call (another static folder) changes nothing more

    body = stream_body(pydyf.Stream([SAMPLE], compress=True))

    assert STREAM_LEVEL == 6
    assert zlib.decompress(body) == SAMPLE
    level6 = zlib.compressobj(6)
    assert body == level6.compress(SAMPLE) + level6.flush()


def test_the_rest_of_zlib_is_untouched():
    _deflate_at_default_level()

    assert pydyf.zlib.decompress(zlib.compress(SAMPLE)) == SAMPLE
    assert pydyf.zlib.compress(SAMPLE) == zlib.compress(SAMPLE)
    assert zlib.compressobj is not pydyf.zlib.compressobj
