"""Placeholders and markers, tasks a text model cannot do, dangling inputs: on the original Alpaca rows."""

from __future__ import annotations

from harness.audit.checks import resolve
from harness.audit.defects.placeholders import input_of
from harness.audit.rows import CheckOutput, Rows
from harness.data.record import Record
from harness.results import Finding
from tests.audit.defects_support import flagged, rows_of, with_prompt, with_target

NO_INPUT_ROWS = {563, 564, 565, 566, 568, 569, 572, 573, 574, 575, 1005, 1105, 1241, 1242, 1244, 1245, 1246,
                 1248, 1250, 1251, 1402, 1404, 1443, 1444, 1446, 1929}


def test_placeholder_input_finds_every_no_input_marker_of_the_original_alpaca(rows: Rows) -> None:
    assert flagged("placeholder_input", rows) == NO_INPUT_ROWS  # 'Noinput', 'No input.', '<no input>', ...


def test_placeholder_input_is_only_a_marker_that_is_the_whole_input(original: list[Record]) -> None:
    base = original[0]
    rows = rows_of([with_prompt(base, "Summarize the text.\n\nN/A"),
                    with_prompt(base, "Summarize.\n\n<noinput>"),
                    with_prompt(base, "What does N/A stand for?"),
                    with_prompt(base, "Rewrite the sentence.\n\nThere is no input for this form.")])
    assert flagged("placeholder_input", rows) == {0, 1}
    assert input_of("Instruction only") is None


def test_placeholder_output_finds_nooutput_markers(rows: Rows, original: list[Record]) -> None:
    assert flagged("placeholder_output", rows) == {8, 306, 1299, 1502, 1842, 1843, 1931, 1934}
    base = original[10]
    planted = rows_of([with_target(base, t) for t in ("N/A", "None", "<nooutput>", "n/a.", "None of these.",
                                                      "Not applicable for most people, but it helps.")])
    assert flagged("placeholder_output", planted) == {0, 1, 2, 3}


def test_inconsistent_markers_is_one_finding_with_the_spellings_counted(rows: Rows) -> None:
    out = resolve("inconsistent_markers")(rows)
    assert isinstance(out, CheckOutput)
    (finding,) = out.hits
    assert isinstance(finding, Finding)
    spellings = {"Noinput": 10, "No input.": 8, "<no input>": 7, "No input required": 1}
    assert finding.details["markers"] == spellings
    assert {r.index for r in finding.refs} == NO_INPUT_ROWS


def test_one_spelling_is_consistent(original: list[Record]) -> None:
    rows = rows_of([original[i] for i in (563, 564, 565, 0, 1)])
    assert flagged("inconsistent_markers", rows) == set()


def test_non_text_task_finds_image_logo_audio_and_3d_requests(rows: Rows) -> None:
    found = flagged("non_text_task", rows)
    assert {8, 39, 93, 306, 396, 1223, 1502, 1934} <= found  # 3D model, logos, a sound effect, a poster
    assert found.isdisjoint({648, 1475, 1785, 1871})  # a chart as a table, a Gantt chart, a movie review
    assert len(found) <= 20


def test_non_text_task_on_planted_requests(original: list[Record]) -> None:
    base = original[0]
    asks = ["Draw a picture of a cat.", "Please render a 3D model of a chair.",
            "Record an audio clip of rain.",
            "Create an image that shows the water cycle.", "Write a caption for the image of a sunset.",
            "Describe the painting Mona Lisa.", "Generate a video script about dogs.", "Sketch out a plan."]
    assert flagged("non_text_task", rows_of([with_prompt(base, a) for a in asks])) == {0, 1, 2, 3}


def test_dangling_input_finds_urls_and_attachments_as_the_whole_input(rows: Rows) -> None:
    assert flagged("dangling_input", rows) == {135, 165, 880, 1089, 1604, 1868}
    # 1358 and 1362 describe the article and add its URL: there is text to work from.


def test_dangling_input_leaves_urls_that_are_the_data(original: list[Record]) -> None:
    base = original[0]
    rows = rows_of([with_prompt(base, "Output the domain of this URL.\n\nhttps://docs.example.com/a"),
                    with_prompt(base, "Summarize the article.\n\n<Picture Attached>"),
                    with_prompt(base, "Describe the image.\n\n[image]")])
    assert flagged("dangling_input", rows) == {1, 2}
