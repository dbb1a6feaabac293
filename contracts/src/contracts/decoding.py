"""A JSON body decoder whose only failures are msgspec's own errors."""

from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class BodyDecoder(Generic[T]):
    """Wraps one ``msgspec.json.Decoder``, built once, for decoding untrusted request bodies.

    msgspec skips the value of an unknown field, and every field before a tagged union's tag, by
    recursing into it; a few kilobytes of nested brackets there exhaust the interpreter's recursion limit
    and raise ``RecursionError``, which an API would turn into a 500. msgspec also reports invalid UTF-8
    inside a string as ``UnicodeDecodeError``. This wrapper reports both as the malformed input they are.
    """

    __slots__ = ("_decoder",)

    def __init__(self, type_: Any) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)

    def decode(self, body: bytes) -> T:
        """Decode ``body``; raises only ``msgspec.DecodeError`` or its subclass ``ValidationError``."""
        try:
            return self._decoder.decode(body)
        except RecursionError:
            raise msgspec.DecodeError("JSON is nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise msgspec.DecodeError(f"JSON is malformed: invalid UTF-8 (byte {exc.start})") from None
