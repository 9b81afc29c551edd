"""Template families for the planted serving mismatches: a training template, its tokenizer, its pieces.

Each :class:`Family` names a real Hugging Face chat template (a ``chat_templates/``
file), how to get a tokenizer for it (the model's own, or a base tokenizer with the
template's control tokens added, BOS and EOS set, the way trl's ``clone_chat_template``
does) and the :class:`Pieces` an Ollama template of the same layout is built from.
:func:`modelfile` assembles a Modelfile from pieces, so that a planted mismatch is one
changed piece. Only tests and benchmarks import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from harness.audit.control_tokens import FAMILY_OF

QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


@dataclass(frozen=True)
class Pieces:
    """What a template writes around each content (an Ollama template is assembled from these)."""

    user_open: str
    user_close: str
    assistant_open: str
    assistant_close: str
    generation: str
    system_open: str = ""
    system_close: str = ""
    system: bool = True  # writes system turns (False: the training template refuses them)
    default_system: str | None = None
    stops: tuple[str, ...] = ()
    bos: str = ""  # written first (a planted double BOS)


@dataclass(frozen=True)
class Family:
    name: str
    template: str  # the training template: a key of ``load_templates``
    tokenizer: str  # "own:<folder>" or "clone:<base>"
    pieces: Pieces
    bos: str | None = None  # clone: BOS token, whether the tokenizer adds it, EOS
    adds_bos: bool = False
    eos: str | None = None
    alt_end: str = "</s>"  # another family's end of turn (planted missing_end_of_turn)


_CHATML = Pieces(system_open="<|im_start|>system\n", system_close="<|im_end|>\n",
                 user_open="<|im_start|>user\n", user_close="<|im_end|>\n",
                 assistant_open="<|im_start|>assistant\n", assistant_close="<|im_end|>\n",
                 generation="<|im_start|>assistant\n", stops=("<|im_start|>", "<|im_end|>"))
_HEADER = "<|start_header_id|>{}<|end_header_id|>\n\n"
FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("chatml", "qwen2.5-instruct", "clone", replace(_CHATML, default_system=QWEN_SYSTEM),
           eos="<|im_end|>", alt_end="<|endoftext|>\n"),
    Family("chatml-plain", "ollama:chatml:6", "clone", _CHATML, eos="<|im_end|>", alt_end="</s>\n"),
    Family("llama3", "llama-3-8b-instruct", "clone",
           Pieces(system_open=_HEADER.format("system"), system_close="<|eot_id|>",
                  user_open=_HEADER.format("user"), user_close="<|eot_id|>",
                  assistant_open=_HEADER.format("assistant"), assistant_close="<|eot_id|>",
                  generation=_HEADER.format("assistant"),
                  stops=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")),
           bos="<|begin_of_text|>", adds_bos=True, eos="<|end_of_text|>", alt_end="<|end_of_text|>"),
    Family("mistral", "mistral-7b-instruct-v0.2", "own:mistral-7b-instruct-v0.2",
           Pieces(user_open="[INST] ", user_close=" [/INST]", assistant_open="", assistant_close="</s>",
                  generation="", system=False, stops=("[INST]", "[/INST]")), alt_end=""),
    Family("phi3", "phi-3-mini-instruct", "own:phi-3-mini",
           Pieces(system_open="<|system|>\n", system_close="<|end|>\n", user_open="<|user|>\n",
                  user_close="<|end|>\n", assistant_open="<|assistant|>\n", assistant_close="<|end|>\n",
                  generation="<|assistant|>\n", stops=("<|end|>", "<|user|>", "<|assistant|>")),
           alt_end="<|endoftext|>\n"),
    Family("gemma", "gemma-2-it", "clone",
           Pieces(user_open="<start_of_turn>user\n", user_close="<end_of_turn>\n",
                  assistant_open="<start_of_turn>model\n", assistant_close="<end_of_turn>\n",
                  generation="<start_of_turn>model\n", system=False,
                  stops=("<start_of_turn>", "<end_of_turn>")),
           bos="<bos>", adds_bos=True, eos="<eos>", alt_end="<eos>\n"),
)}


def modelfile(pieces: Pieces, *, name: str = "planted") -> str:
    """An Ollama Modelfile that renders ``pieces`` (``.Messages`` form, system first when supported)."""
    block = f"{pieces.system_open}{{{{ .System }}}}{pieces.system_close}"
    system = f"{{{{- if .System }}}}{block}{{{{ end }}}}\n" if pieces.system else ""
    template = (
        f"{pieces.bos}{system}"
        "{{- range $i, $m := .Messages }}\n"
        "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
        f'{{{{- if eq $m.Role "user" }}}}{pieces.user_open}{{{{ $m.Content }}}}{pieces.user_close}'
        f"{{{{ if $last }}}}{pieces.generation}{{{{ end }}}}\n"
        f'{{{{- else if eq $m.Role "assistant" }}}}{pieces.assistant_open}{{{{ $m.Content }}}}'
        f"{{{{ if not $last }}}}{pieces.assistant_close}{{{{ end }}}}\n"
        "{{- end }}\n"
        "{{- end }}"
    )
    lines = [f"# {name}: assembled by harness.testing.serving_families", f"FROM {name}",
             f'TEMPLATE """{template}"""']
    if pieces.default_system:
        lines.append(f'SYSTEM """{pieces.default_system}"""')
    lines += [f'PARAMETER stop "{s}"' for s in pieces.stops]
    return "\n".join(lines) + "\n"


def clone_tokenizer(base: Any, family: Family, template: str) -> Any:
    """``base`` with ``template``'s control markers added as special tokens, BOS/EOS set, the template set.

    The post-processor adds BOS exactly when ``family.adds_bos`` (as the real model's tokenizer does).
    """
    from tokenizers import processors

    markers = [m for m in FAMILY_OF if m in template]
    extra = [t for t in (family.bos, family.eos) if t and t not in markers]
    base.add_tokens(sorted(set(markers + extra)), special_tokens=True)
    base.bos_token = family.bos
    base.eos_token = family.eos
    if family.adds_bos and family.bos:
        bos_id = base.convert_tokens_to_ids(family.bos)
        base.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{family.bos} $A", pair=f"{family.bos} $A {family.bos} $B",
            special_tokens=[(family.bos, bos_id)])
    else:
        base.backend_tokenizer.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B")
    base.chat_template = template
    return base


def family_tokenizer(family: Family, templates: dict[str, str], own: Callable[[str], Any],
                     base: Callable[[], Any]) -> Any:
    """The family's tokenizer with its training template set: ``own(folder)`` or a clone of ``base()``."""
    template = templates[family.template]
    if family.tokenizer.startswith("own:"):
        tok = own(family.tokenizer.removeprefix("own:"))
        tok.chat_template = template
        return tok
    return clone_tokenizer(base(), family, template)
