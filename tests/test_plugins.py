"""harness.plugins: ``module:attr`` references (with a search folder), entry point groups, did-you-mean."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.plugins import (
    EntryPointGroup,
    Kind,
    PluginError,
    declared,
    did_you_mean,
    import_module,
    load_reference,
    unknown_message,
)

KIND = Kind(shape="module:function", example="pkg.mod:fn", plural="widgets", decorator="@widget",
            marker="__widget__")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder (not on the path) holding modules; the path and module table restored afterwards."""
    (tmp_path / "plug_widgets.py").write_text(textwrap.dedent("""
        from plug_helpers import double

        def spin(x):
            return double(x)
        spin.__widget__ = True

        def shine(x):
            return x
        shine.__widget__ = True

        class Outer:
            class Inner:
                pass

        plain = 3
    """), encoding="utf-8")
    (tmp_path / "plug_helpers.py").write_text("def double(x):\n    return 2 * x\n", encoding="utf-8")
    (tmp_path / "plug_broken.py").write_text("1 / 0\n", encoding="utf-8")
    (tmp_path / "plug_bare.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in ("plug_widgets", "plug_helpers", "plug_broken", "plug_bare"):
        sys.modules.pop(name, None)


def test_a_reference_loads_from_a_search_folder_with_its_sibling_imports(folder: Path) -> None:
    with pytest.raises(PluginError, match="cannot import 'plug_widgets': ModuleNotFoundError"):
        load_reference("plug_widgets:spin", KIND)  # not on the path, no folder to search
    spin = load_reference("plug_widgets:spin", KIND, [Path("/nonexistent"), folder])
    assert spin(4) == 8 and str(folder) in sys.path
    assert load_reference("plug_widgets:Outer.Inner", KIND).__name__ == "Inner"


def test_a_missing_module_inside_the_users_module_is_not_searched_for(folder: Path) -> None:
    (folder / "plug_bare.py").write_text("import no_such_dependency_zz\n", encoding="utf-8")
    with pytest.raises(PluginError) as err:
        load_reference("plug_bare:x", KIND, [folder])
    assert err.value.problem == "import" and err.value.module == "plug_bare"
    assert "No module named 'no_such_dependency_zz'" in str(err.value)


@pytest.mark.parametrize(("ref", "problem", "message", "hint"), [
    ("plug_widgets", "shape", "'plug_widgets': expected module:function, e.g. pkg.mod:fn", None),
    (":spin", "shape", "':spin': expected module:function, e.g. pkg.mod:fn", None),
    ("plug_broken:x", "import",
     "'plug_broken:x': cannot import 'plug_broken': ZeroDivisionError: division by zero", None),
    ("plug_widgets:spinn", "attribute",
     "'plug_widgets:spinn': module 'plug_widgets' has no attribute 'spinn'",
     "did you mean plug_widgets:spin?"),
    ("plug_widgets:zzz", "attribute", "'plug_widgets:zzz': module 'plug_widgets' has no attribute 'zzz'",
     "its widgets: shine, spin"),
    ("plug_bare:zzz", "attribute", "'plug_bare:zzz': module 'plug_bare' has no attribute 'zzz'",
     "it defines no @widget"),
    ("plug_widgets:Outer.Missing", "attribute",
     "module 'plug_widgets' has no attribute 'Outer.Missing'", None),
])
def test_failures_are_one_line_naming_the_reference(folder: Path, ref: str, problem: str, message: str,
                                                    hint: str | None) -> None:
    with pytest.raises(PluginError) as err:
        load_reference(ref, KIND, [folder])
    assert err.value.problem == problem and err.value.ref == ref
    assert message in err.value.message and err.value.hint == hint
    assert "\n" not in str(err.value)


def test_without_a_marker_no_members_are_listed(folder: Path) -> None:
    with pytest.raises(PluginError) as err:
        load_reference("plug_widgets:zzz", Kind(shape="module:Class", example="m:C"), [folder])
    assert err.value.hint is None


def test_import_module_raises_what_the_import_raised(folder: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        import_module("plug_broken", [folder])
    assert import_module("plug_helpers", [folder]).double(2) == 4


def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: str) -> None:
    """An installed distribution (a dist-info folder on the path) declaring ``entries``."""
    dist = tmp_path / "plug_dist-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plug-dist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[harness.test_widgets]\n{entries}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_an_entry_point_group_is_read_once_and_again_after_refresh(folder: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    group = EntryPointGroup("harness.test_widgets")
    assert group.names() == [] and group.load("spin") is None
    installed(folder, monkeypatch, "spin = plug_widgets:spin\nbroken = plug_broken:x")
    assert "spin" not in group  # read once: a later install is seen after refresh()
    group.refresh()
    assert group.names() == ["spin", "broken"] and group.load("spin")(1) == 2
    assert group.where("spin") == "entry point 'spin' (harness.test_widgets: plug_widgets:spin)"
    with pytest.raises(PluginError) as err:
        group.load("broken")
    assert err.value.problem == "entry_point" and err.value.module == "plug_broken:x"
    assert str(err.value) == ("entry point 'broken' (harness.test_widgets: plug_broken:x) cannot be loaded: "
                              "ZeroDivisionError: division by zero")
    assert EntryPointGroup(None).names() == []


def test_did_you_mean_and_unknown_message() -> None:
    assert did_you_mean("exct_match", ["f1", "exact_match"]) == "exact_match"
    assert did_you_mean("zzz", ["f1", "exact_match"]) is None
    assert unknown_message("metric", "exct", ["exact", "f1"], tail=" (or module:function)") == (
        "unknown metric 'exct'; did you mean 'exact'? Available: exact, f1 (or module:function)")
    assert unknown_message("check", "zzz", ["b", "a"], near=None) == "unknown check 'zzz'. Available: b, a"
    assert unknown_message("metric", "json_valid", ["json"], near="json").startswith(
        "unknown metric 'json_valid'; did you mean 'json'?")


def test_declared_finds_the_object_or_what_its_decorator_left() -> None:
    class Spec:
        pass

    spec = Spec()

    def fn() -> None:
        return None

    fn.__widget__ = spec  # type: ignore[attr-defined]
    assert declared(spec, Spec, "__widget__") is spec and declared(fn, Spec, "__widget__") is spec
    assert declared(len, Spec, "__widget__") is None and declared(3, Spec, "__widget__") is None
