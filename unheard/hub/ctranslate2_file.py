"""Read a CTranslate2 ``model.bin`` into named tensors, without the ctranslate2 package.

The file (format version 6, as written by ``ctranslate2.converters``) is little-endian::

    u32 version · string spec name · u32 spec revision · u32 variable count
    per variable: string name · u8 rank · u32 dims[rank] · u8 dtype · u32 byte count · raw bytes
    (version >= 3) u32 alias count · per alias: string alias · string target

where a *string* is a u16 byte length followed by that many bytes, the last of them a NUL.
Scalars (``decoder/num_heads``, ``decoder/activation``, ...) are rank-0 variables.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import torch

# CTranslate2's DataType enum, in file order
DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
}
BFLOAT16 = 5  # numpy has no bfloat16: read as int16 bits and reinterpreted by torch
SUPPORTED_VERSIONS = range(1, 7)


@dataclass(frozen=True)
class CTranslate2Model:
    """The variables of a CTranslate2 model file."""

    spec: str  # e.g. "WhisperSpec"
    revision: int  # revision of that spec
    variables: dict[str, torch.Tensor]  # by CTranslate2 name; aliases resolved to their target


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated CTranslate2 file: needs {self.pos + n} bytes")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def string(self) -> str:
        return bytes(self.take(self.u16())).rstrip(b"\0").decode("utf-8")


def read_ctranslate2(data: bytes | memoryview) -> CTranslate2Model:
    """Parse the bytes of a CTranslate2 ``model.bin``.

    Args:
        data: the whole file (for Whisper base, the two package parts concatenated).

    Returns:
        The spec name, its revision and every variable as a tensor of the stored dtype (fp16
        weights stay fp16). Tensors are copies: ``data`` may be freed afterwards.

    Raises:
        ValueError: on an unsupported format version or dtype, or a truncated file.
    """
    r = _Reader(data)
    version = r.u32()
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported CTranslate2 format version {version}; known: 1-6")
    spec = r.string() if version >= 2 else ""
    revision = r.u32() if version >= 2 else 1
    variables: dict[str, torch.Tensor] = {}
    for _ in range(r.u32()):
        name = r.string()
        dims = struct.unpack(f"<{(rank := r.u8())}I", r.take(4 * rank))
        code = r.u8()
        raw = r.take(r.u32())
        variables[name] = _tensor(raw, code, dims, name)
    if version >= 3:
        for _ in range(r.u32()):
            alias, target = r.string(), r.string()
            variables[alias] = variables[target]  # e.g. Whisper's tied output projection
    return CTranslate2Model(spec=spec, revision=revision, variables=variables)


def _tensor(raw: memoryview, code: int, dims: tuple[int, ...], name: str) -> torch.Tensor:
    if code == BFLOAT16:
        bits = np.frombuffer(raw, dtype="<i2").copy()
        return torch.from_numpy(bits).view(torch.bfloat16).reshape(dims)
    if code not in DTYPES:
        raise ValueError(f"variable {name!r} has unknown CTranslate2 dtype code {code}")
    array = np.frombuffer(raw, dtype=DTYPES[code]).copy()  # copy: writable, owns its memory
    return torch.from_numpy(array).reshape(dims)
