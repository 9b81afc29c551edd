"""One base, many adapters: load lazily, switch adapters, count forward passes, give the base back.

The base is loaded at most once per evaluation, and only when some result is
not cached. Adapters are attached to it with ``load_adapter`` (PEFT) and
selected with ``set_adapter``, under a peft name derived from the model's name
(:func:`harness.paths.adapter_name`: any trial name can be scored, results keep
the name itself); the base itself is scored inside ``disable_adapter()``.
Forward passes are counted with a pre-forward hook on the transformer model
itself, so generation steps, perplexity batches and lm-eval's loglikelihood
batches all count, whoever calls them.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.errors import AdapterError
from harness.models.loading import LoadedModel, attach_adapters
from harness.paths import adapter_name
from harness.score.plan import BASE


def check_adapter_dir(name: str, path: str | Path) -> Path:
    p = Path(path)
    if not (p / "adapter_config.json").is_file():
        raise AdapterError(f"{p}: adapter {name!r} is not a PEFT adapter folder (no adapter_config.json)")
    return p


def is_peft(model: Any) -> bool:
    """A PEFT model (adapters injected): the base must be scored with them disabled."""
    return hasattr(model, "peft_config") and callable(getattr(model, "disable_adapter", None))


def core_module(model: Any) -> Any:
    """The transformers model under any PEFT wrapper (what actually runs a forward pass)."""
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


class ModelPool:
    """The evaluation's one base with its adapters; ``forward[name]`` counts passes per model."""

    def __init__(self, suite: SuiteConfig, loaded: LoadedModel | None, adapters: Mapping[str, Path],
                 hashes: Mapping[str, str]) -> None:
        self._suite = suite
        self._loaded = loaded
        self._paths = dict(adapters)
        self._hashes = dict(hashes)
        self._attached: list[str] = []
        self._caller_active: Any = None  # the adapter the caller had active, restored at close
        self.loads = 0
        self.forward: Counter[str] = Counter()

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            from harness.models.suite_base import load_suite_base

            self._loaded = load_suite_base(self._suite)
            self.loads += 1
        return self._loaded

    def _ensure_adapter(self, name: str) -> str:
        """Attach ``name``'s adapter (once); its peft name."""
        lm = self.loaded
        peft = adapter_name(name)
        if self._caller_active is None and is_peft(lm.model):
            self._caller_active = lm.model.active_adapter
        have = lm.adapters.get(peft)
        if have == self._hashes[name]:
            return peft
        if have is not None:  # same name, different weights: the attached copy is stale
            lm.model.delete_adapter(peft)
            del lm.adapters[peft]
        attach_adapters(lm, {peft: self._paths[name]})
        self._attached.append(peft)
        return peft

    @contextlib.contextmanager
    def active(self, name: str) -> Iterator[LoadedModel]:
        """The loaded model with ``name`` (an adapter, or ``"base"``) active, counting forwards."""
        lm = self.loaded
        if name != BASE:
            peft = self._ensure_adapter(name)  # first: attaching may wrap lm.model in a PeftModel
            lm.model.set_adapter(peft)
        base_off = name == BASE and is_peft(lm.model)
        switch = lm.model.disable_adapter() if base_off else contextlib.nullcontext()

        def count(*_: Any) -> None:
            self.forward[name] += 1

        hook = core_module(lm.model).register_forward_pre_hook(count)
        try:
            with switch:
                yield lm
        finally:
            hook.remove()

    def close(self) -> None:
        """Detach the adapters this pool attached; the base goes back as it came."""
        if not self._attached or self._loaded is None:
            return
        lm = self._loaded
        if set(lm.adapters) <= set(self._attached):
            lm.model = lm.model.unload()  # no adapter of the caller's left: back to the bare base
            lm.adapters.clear()
        else:
            for name in self._attached:
                lm.model.delete_adapter(name)
                lm.adapters.pop(name, None)
            if self._caller_active in lm.adapters:
                lm.model.set_adapter(self._caller_active)
        self._attached.clear()


__all__ = ["ModelPool", "check_adapter_dir", "core_module", "is_peft"]
