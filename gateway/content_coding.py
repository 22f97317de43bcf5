"""Content codings of request bodies: decoded piece by piece, never past a size limit.

gzip, deflate (zlib-wrapped or raw), br and zstd, stacked up to two deep. A body that is
not what its coding says is a `BadEncoding` (400), a coding not listed here an
`UnsupportedEncoding` (415), a body that decodes past the limit `BodyTooLarge` (413).
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import Protocol

import brotli

from gateway.errors import BadRequest, BodyTooLarge, HTTPError

if sys.version_info >= (3, 14):  # pragma: no cover - the standard library has it from 3.14
    from compression.zstd import ZstdDecompressor, ZstdError
else:
    from backports.zstd import ZstdDecompressor, ZstdError

# More stacked codings than this is no real client.
_MAX_CODINGS = 2


class UnsupportedEncoding(HTTPError):
    """The body's Content-Encoding is one the gateway cannot decode (415)."""

    status = 415
    error_type = "unsupported_content_encoding"


class BadEncoding(BadRequest):
    """The body is not what its Content-Encoding says, or is cut short (400)."""


class _Decoder(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`; return at most `limit + 1` bytes (more means over the limit)."""
        ...

    def finished(self) -> bool:
        """Whether the encoded stream ended properly."""
        ...


class _ZlibDecoder:
    """gzip, or deflate (zlib-wrapped or raw, as clients send both); concatenated members too."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._obj: zlib._Decompress | None = None
        self._eof = False

    def _new(self, first: bytes) -> zlib._Decompress:
        wbits = self._wbits
        # RFC 1950: a zlib stream opens with compression method 8; anything else is raw.
        if wbits == zlib.MAX_WBITS and first and first[0] & 0x0F != 8:
            wbits = -zlib.MAX_WBITS
        return zlib.decompressobj(wbits)

    def feed(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        while data:
            if self._obj is None or self._obj.eof:
                self._obj = self._new(data)
            chunk = self._obj.decompress(data, limit + 1 - len(out))
            out += chunk
            if len(out) > limit:
                break
            # What follows the end of a member is the next member.
            data = self._obj.unused_data if self._obj.eof else b""
        self._eof = self._obj is not None and self._obj.eof
        return bytes(out)

    def finished(self) -> bool:
        return self._eof


class _BrotliDecoder:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        out = self._obj.process(data, output_buffer_limit=limit + 1)
        while len(out) <= limit and not self._obj.can_accept_more_data():
            more = self._obj.process(b"", output_buffer_limit=limit + 1 - len(out))
            if not more:
                break
            out += more
        return bytes(out)

    def finished(self) -> bool:
        return bool(self._obj.is_finished())


class _ZstdDecoder:
    """zstd, several frames in a row included."""

    def __init__(self) -> None:
        self._obj = ZstdDecompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        while data or not self._obj.needs_input:
            if self._obj.eof:
                if not data:
                    break
                self._obj = ZstdDecompressor()
            out += self._obj.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                break
            data = self._obj.unused_data if self._obj.eof else b""
        return bytes(out)

    def finished(self) -> bool:
        return bool(self._obj.eof)


DECODERS: dict[str, Callable[[], _Decoder]] = {
    "gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
    "deflate": lambda: _ZlibDecoder(zlib.MAX_WBITS),
    "br": _BrotliDecoder,
    "zstd": _ZstdDecoder,
}
_DECODE_ERRORS = (zlib.error, brotli.error, ZstdError, EOFError, ValueError)


def codings(header: str | None) -> list[str]:
    """The codings a Content-Encoding names, in the order they were applied.

    Raises `UnsupportedEncoding` for one the gateway cannot decode.
    """
    names = [c.strip().lower() for c in (header or "").split(",")]
    names = [c for c in names if c and c != "identity"]
    supported = ", ".join(sorted({"gzip", "deflate", "br", "zstd"}))
    for name in names:
        if name not in DECODERS:
            raise UnsupportedEncoding(
                f"Content-Encoding `{name[:40]}` is not supported; use one of {supported}."
            )
    if len(names) > _MAX_CODINGS:
        raise UnsupportedEncoding(f"At most {_MAX_CODINGS} stacked content codings are read.")
    return names


class BodyDecoder:
    """Decodes a body through its codings as it arrives, never past `limit` bytes."""

    def __init__(self, names: list[str], limit: int) -> None:
        # The coding applied last is undone first.
        self._chain = [DECODERS[name]() for name in reversed(names)]
        self._limit = limit
        self._out = bytearray()
        self._fed = False

    def feed(self, data: bytes) -> None:
        """Decode one piece of the encoded body."""
        self._fed = self._fed or bool(data)
        room = self._limit - len(self._out)
        try:
            for decoder in self._chain:
                data = decoder.feed(data, room)
                if len(data) > room:
                    break
        except _DECODE_ERRORS:
            raise BadEncoding("The request body does not match its Content-Encoding.") from None
        self._out += data
        if len(self._out) > self._limit:
            raise BodyTooLarge(f"The decoded request body is larger than {self._limit} bytes.")

    def result(self) -> bytes:
        """The decoded body, once the encoded one has ended."""
        if self._fed and not all(d.finished() for d in self._chain):
            raise BadEncoding("The compressed request body is incomplete.")
        return bytes(self._out)
