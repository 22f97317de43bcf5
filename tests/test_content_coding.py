"""Content codings: every coding decodes over any chunking, and never past the limit."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli
import pytest
from backports import zstd

from gateway.content_coding import BodyDecoder, UnsupportedEncoding, codings
from gateway.errors import HTTPError

BODY = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}' * 40
CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}


def decode(names: list[str], data: bytes, step: int, limit: int = 1 << 20) -> bytes | int:
    """The decoded body, or the status of the error raised, fed `step` bytes at a time."""
    decoder = BodyDecoder(names, limit)
    try:
        for at in range(0, len(data), step):
            decoder.feed(data[at : at + step])
        return decoder.result()
    except HTTPError as exc:
        return exc.status


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
@pytest.mark.parametrize("coding", CODINGS)
def test_every_coding_decodes_over_any_chunking(coding: str, step: int) -> None:
    """One byte at a time or all at once, the same body comes out."""
    assert decode([coding], CODINGS[coding](BODY), step) == BODY


@pytest.mark.parametrize("coding", CODINGS)
def test_garbage_truncation_and_bombs(coding: str) -> None:
    """Not the coding: 400; cut short: 400; inflating past the limit: 413."""
    whole = CODINGS[coding](BODY)
    assert decode([coding], b"plainly not compressed", 7) == 400
    assert decode([coding], whole[: len(whole) - 6], 7) == 400
    assert decode([coding], CODINGS[coding](b"a" * 5_000_000), 4096, limit=10_000) == 413


def test_members_frames_raw_deflate_and_stacks() -> None:
    """Concatenated gzip members and zstd frames, raw deflate, and `gzip, br` stacked."""
    assert decode(["gzip"], gzip.compress(BODY) * 2, 5) == BODY * 2
    assert decode(["zstd"], zstd.compress(BODY) * 2, 5) == BODY * 2
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode(["deflate"], packer.compress(BODY) + packer.flush(), 5) == BODY
    assert decode(["gzip", "br"], brotli.compress(gzip.compress(BODY)), 5) == BODY
    assert decode(["gzip"], gzip.compress(BODY) + b"junk", 5) == 400


@pytest.mark.parametrize(
    ("header", "names"),
    [
        (None, []),
        ("", []),
        ("identity", []),
        ("GZIP", ["gzip"]),
        ("x-gzip", ["x-gzip"]),
        ("gzip, br", ["gzip", "br"]),
    ],
)
def test_codings_are_read_from_the_header(header: str | None, names: list[str]) -> None:
    """Case-insensitive, identity ignored, in the order applied."""
    assert codings(header) == names


@pytest.mark.parametrize("header", ["compress", "x-custom", "gzip, gzip, gzip"])
def test_other_codings_are_unsupported(header: str) -> None:
    """A coding not decoded here, or too many stacked: 415."""
    with pytest.raises(UnsupportedEncoding):
        codings(header)
