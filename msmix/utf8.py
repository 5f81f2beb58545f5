"""A file's bytes as UTF-8 text, or the line and byte where they are not, for a one-line message
that names them (sweep configs, results tables, label.csv)."""

from __future__ import annotations


class NotUTF8(ValueError):
    """``data`` is not UTF-8: ``line`` (1-based) holds the first bad ``byte``."""

    def __init__(self, line: int, byte: int) -> None:
        super().__init__(f"line {line}: not UTF-8 (byte 0x{byte:02x})")
        self.line, self.byte = line, byte


def decode_utf8(data: bytes, allow_bom: bool = False) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped where ``allow_bom``); raises
    NotUTF8 naming the line and byte where it is not, for the caller's one-line message."""
    try:
        return data.decode("utf-8-sig" if allow_bom else "utf-8")
    except UnicodeDecodeError as err:
        raise NotUTF8(data[: err.start].count(b"\n") + 1, data[err.start]) from None

