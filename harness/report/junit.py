"""JUnit XML from a run's verdicts (``harness run|eval|audit --junit FILE``), read from results only.

One ``<testsuite>`` per file, one ``<testcase>`` per :class:`harness.report.cases.Case`
with the pytest plugin's names, so a CI system shows the same tests whether the
suite ran through ``pytest`` or the CLI. A failed case carries ``<failure
message="first line">`` with the whole message; a skipped comparison
``<skipped message=...>``; a passed one its observed values in
``<system-out>``. Characters XML 1.0 cannot carry (NUL, other C0 controls, lone
surrogates) are written as ``\\xNN`` / ``\\uNNNN`` so that any model output keeps
the file parseable.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.io import atomic_write_text
from harness.report.cases import Case

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids written out as escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def junit_xml(cases: Sequence[Case], *, suite: str, seconds: float = 0.0) -> str:
    """The JUnit XML document for ``cases`` as one test suite named ``suite``."""
    failures = sum(c.outcome == "fail" for c in cases)
    skipped = sum(c.outcome == "skip" for c in cases)
    root = ET.Element("testsuites", name="finetune-harness", tests=str(len(cases)), failures=str(failures),
                      errors="0", skipped=str(skipped), time=f"{seconds:.3f}")
    ts = ET.SubElement(root, "testsuite", name=xml_text(suite), tests=str(len(cases)), failures=str(failures),
                       errors="0", skipped=str(skipped), time=f"{seconds:.3f}")
    for case in cases:
        tc = ET.SubElement(ts, "testcase", classname=xml_text(f"harness.{suite}.{case.kind}"),
                           name=xml_text(case.name), time="0")
        if case.outcome == "fail":
            el = ET.SubElement(tc, "failure", message=xml_text(case.message.splitlines()[0] if case.message
                                                                else "failed"))
            el.text = xml_text(case.message)
        elif case.outcome == "skip":
            ET.SubElement(tc, "skipped", message=xml_text(case.message))
        if case.detail:
            ET.SubElement(tc, "system-out").text = xml_text(case.detail)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(cases: Sequence[Case], path: Path, *, suite: str, seconds: float = 0.0) -> Path:
    """Write :func:`junit_xml` to ``path`` atomically (its folder is created)."""
    atomic_write_text(Path(path), junit_xml(cases, suite=suite, seconds=seconds))
    return Path(path)


__all__ = ["junit_xml", "write_junit", "xml_text"]
