"""Users' own judge backends: by module:Class, by entry point, registered, or passed as an object.

No HTTP server anywhere here: the backends below answer from the request text, as a
user's in-house validator or a vLLM client would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from judge_helpers import make_items

from harness.cli import main
from harness.errors import ConfigError, JudgeError
from harness.judge import JudgeConfig, run_judges
from harness.judge.backends import (
    Completion,
    FatalError,
    known_backends,
    register_backend,
    unregister_backend,
)
from harness.judge.backends.registry import check_backend
from harness.judge.cache import VerdictCache
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny"


def rating_for(user: str) -> int:
    """A deterministic 'judgement': longer responses rate higher (1..5)."""
    shown = user.split("[Response]")[-1].split("[End of response]")[0]
    return min(5, 1 + len(shown.strip()) // 40)


class LengthJudge:
    """A user's backend, defined in a test module and named ``test_backend_registry:LengthJudge``."""

    created: list[JudgeConfig] = []  # noqa: RUF012  (a class-level log of constructions)

    def __init__(self, config: JudgeConfig) -> None:
        self.model = config.model
        self.calls: list[str] = []
        LengthJudge.created.append(config)

    async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
        self.calls.append(user)
        return Completion(f"Judged by length.\nRating: [[{rating_for(user)}]]", len(user) // 4, 8)

    async def aclose(self) -> None:
        return None


class Versioned(LengthJudge):
    @classmethod
    def identity(cls, config: JudgeConfig) -> str:
        return f"length-judge-v2/{config.model}"


class NotABackend:
    def complete(self, system: str, user: str, max_tokens: int) -> str:  # not async, no aclose
        return ""


def config(backend: str, **fields: object) -> JudgeConfig:
    return JudgeConfig.model_validate({"name": "mine", "backend": backend, "model": "in-house-7b",
                                       "rubric": "helpfulness", **fields})


def test_a_backend_class_named_module_colon_class_judges(tmp_path: Path) -> None:
    LengthJudge.created.clear()
    items = make_items(6)
    run = run_judges([config(f"{__name__}:LengthJudge")], items, cache_path=tmp_path / "c.db",
                     progress=False).runs[0]
    assert [c.model for c in LengthJudge.created] == ["in-house-7b"]  # built from the judge's config
    assert run.backend == f"{__name__}:LengthJudge" and run.failed == run.unparseable == 0
    expected = {it.item_id: min(5, 1 + len(it.outputs["ft"].strip()) // 40) for it in items}
    assert {v.item_id: v.score for v in run.verdicts if v.model == "ft"} == expected
    again = run_judges([config(f"{__name__}:LengthJudge")], items, cache_path=tmp_path / "c.db",
                       progress=False).runs[0]
    assert again.requests == 0 and again.cache_hits == 12


def test_the_cache_keys_on_the_backends_declared_identity(tmp_path: Path) -> None:
    items = make_items(2)
    cache = tmp_path / "c.db"
    run_judges([config(f"{__name__}:LengthJudge")], items, cache_path=cache, progress=False)
    other_model = run_judges([config(f"{__name__}:LengthJudge", model="in-house-13b")], items,
                             cache_path=cache, progress=False).runs[0]
    assert other_model.requests == 4  # module:Class + model is the default identity
    versioned = run_judges([config(f"{__name__}:Versioned")], items, cache_path=cache,
                           progress=False).runs[0]
    assert versioned.requests == 4
    with VerdictCache(cache) as db:
        models = {row[0] for row in db._db.execute("SELECT model FROM verdicts")}
    assert models == {f"{__name__}:LengthJudge/in-house-7b", f"{__name__}:LengthJudge/in-house-13b",
                      "length-judge-v2/in-house-7b"}


def test_a_registered_name_works_like_a_built_in(tmp_path: Path) -> None:
    @register_backend("lengthy")
    class Registered(LengthJudge):
        pass

    try:
        assert "lengthy" in known_backends() and {"openai", "anthropic", "local"} <= set(known_backends())
        run = run_judges([config("lengthy")], make_items(2), cache_path=tmp_path / "c.db",
                         progress=False).runs[0]
        assert run.backend == "lengthy" and run.scores["ft"].n == 2
    finally:
        unregister_backend("lengthy")
    with pytest.raises(ValueError, match="unknown judge backend 'lengthy'"):
        check_backend("lengthy")


ENTRY_MODULE = '''
from harness.judge.backends import Completion

class PlugInJudge:
    def __init__(self, config):
        self.model = config.model

    async def complete(self, system, user, max_tokens):
        return Completion("Rating: [[4]]", 10, 2)

    async def aclose(self):
        return None
'''


def test_an_entry_point_backend_from_an_installed_distribution(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plugin_judge_mod.py").write_text(ENTRY_MODULE, encoding="utf-8")
    dist = tmp_path / "plugin_judge-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-judge\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[harness.judge_backends]\nplugin = plugin_judge_mod:PlugInJudge\n")
    with pytest.raises(ValueError, match="unknown judge backend 'plugin'"):
        check_backend("plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "plugin" in known_backends()
    run = run_judges([config("plugin")], make_items(3), cache_path=tmp_path / "c.db", progress=False).runs[0]
    assert run.backend == "plugin" and run.scores["ft"].mean == 4.0 and run.requests == 6


def test_a_backend_object_needs_no_server_and_keeps_cache_and_budget(tmp_path: Path) -> None:
    items = make_items(8)
    judge = config("openai", budget_tokens=200_000)  # the object stands in: no key, no HTTP
    mine = LengthJudge(judge)
    run = run_judges([judge], items, cache_path=tmp_path / "c.db", progress=False, backend=mine).runs[0]
    assert len(mine.calls) == run.requests == 16 and run.failed == 0
    assert run.backend == f"{__name__}:LengthJudge"
    assert run.input_tokens == sum(len(u) // 4 for u in mine.calls) and run.output_tokens == 16 * 8
    fresh = LengthJudge(judge)
    warm = run_judges([judge], items, cache_path=tmp_path / "c.db", progress=False,
                      backend={"mine": fresh}).runs[0]
    assert fresh.calls == [] and warm.cache_hits == 16
    assert [v.score for v in warm.verdicts] == [v.score for v in run.verdicts]
    tight = run_judges([config("openai", budget_tokens=500)], items, cache_path=tmp_path / "other.db",
                       progress=False, backend=fresh).runs[0]
    assert fresh.calls == [] and re.match(r"16 uncached judgements may take up to", tight.error or "")
    with pytest.raises(ConfigError, match="backend= names no judge 'nobody'"):
        run_judges([judge], items, cache_path=tmp_path / "c.db", backend={"nobody": fresh})


def test_a_fatal_error_from_a_user_backend_stops_that_judge_only(tmp_path: Path) -> None:
    class Revoked(LengthJudge):
        async def complete(self, system: str, user: str, max_tokens: int) -> Completion:
            self.calls.append(user)
            raise FatalError("HTTP 403: this key may not use in-house-7b")

    revoked = Revoked(config("openai"))
    good, bad = config("openai", name="good"), config("openai", name="bad", concurrency=1)
    report = run_judges([good, bad], make_items(4), cache_path=tmp_path / "c.db", progress=False,
                        backend={"good": LengthJudge(good), "bad": revoked})
    assert len(revoked.calls) == 1 and report.run("bad").failed == 8
    assert report.run("bad").error == "HTTP 403: this key may not use in-house-7b"
    assert report.run("good").problem is None and report.run("good").scores["ft"].n == 4


@pytest.mark.parametrize(("backend", "message"), [
    ("opneai", "unknown judge backend 'opneai'; known: anthropic, local, openai, or module:Class; "
               "did you mean 'openai'?"),
    ("no_such_module_xyz:Judge", "cannot import module 'no_such_module_xyz'"),
    (f"{__name__}:Missing", f"module {__name__!r} has no 'Missing'"),
    (f"{__name__}:NotABackend", "is not a judge backend: it needs async methods complete"),
])
def test_bad_backends_fail_at_suite_load_with_the_key_path(tmp_path: Path, backend: str, message: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    suite = yaml.safe_load((TINY / "suite.yaml").read_text(encoding="utf-8"))
    suite["base"]["path"] = str(ROOT / "suites" / "demo" / "model")
    suite["data"] = {k: str(TINY / v) for k, v in suite["data"].items()}
    suite["judges"] = [{"name": "ok", "backend": "openai", "model": "m", "rubric": "helpfulness"},
                       {"name": "j", "backend": backend, "model": "m", "rubric": "helpfulness"}]
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_suite(path)
    assert str(err.value).startswith(f"{path}: judges[1].backend: ") and message in str(err.value)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "judges[1].backend" in lines[0] and message in lines[0]
    assert not (tmp_path / "out").exists()  # refused before any work


def test_a_backend_whose_constructor_fails_is_a_recorded_judge_failure(tmp_path: Path) -> None:
    class Refuses(LengthJudge):
        def __init__(self, config: JudgeConfig) -> None:
            raise RuntimeError("in-house-7b is not deployed here")

    register_backend("refuses", Refuses)
    try:
        run = run_judges([config("refuses")], make_items(2), cache_path=tmp_path / "c.db",
                         progress=False).runs[0]
    finally:
        unregister_backend("refuses")
    assert run.requests == 0 and run.failed == 4
    assert "could not be created: RuntimeError: in-house-7b is not deployed here" in (run.error or "")


def test_a_backend_module_that_fails_to_import_is_one_line(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Any error while importing a user's module (not only ImportError) names the reference."""
    (tmp_path / "judge_mod_raises.py").write_text("raise RuntimeError('no GPU here')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"^'judge_mod_raises:Judge': cannot import module "
                                         r"'judge_mod_raises' \(RuntimeError: no GPU here\)$"):
        check_backend("judge_mod_raises:Judge")
    from harness.judge.backends import backend_class

    with pytest.raises(JudgeError, match="cannot import module 'judge_mod_raises' \\(RuntimeError"):
        backend_class("judge_mod_raises:Judge")


def test_backend_names_are_plain_words() -> None:
    with pytest.raises(ValueError, match="plain word"):
        register_backend("a:b", LengthJudge)
    with pytest.raises(JudgeError, match="expected module:Class"):
        from harness.judge.backends import backend_class

        backend_class(":Nothing")

