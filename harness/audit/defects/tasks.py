"""Tasks a text model cannot do, and inputs that point at something that is not there.

* ``non_text_task`` (warning): the instruction asks for an image, drawing,
  painting, logo, poster, audio, video or 3D model ("Render a 3D model of a
  house", "Design a logo for the company", "Draw a cat"). Its target is then
  a refusal, a description or a made-up file. Charts, graphs and diagrams are
  left out: a table or a text diagram is a fair answer; text about a medium
  ("a movie review", "a video script") is a text task.
* ``dangling_input`` (warning): the whole input is a URL (with at most a
  short label, "Article: https://...") or an attachment placeholder
  ("Attached photo", "<Picture Attached>", "[image]"); the model cannot read
  it, so the target was made up (AlpacaDataCleaned's "hallucinations").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.audit.checks import audit_check
from harness.audit.defects.instructions import instruction_of
from harness.audit.defects.placeholders import input_of
from harness.audit.rows import Hit, Rows

_LEAD = r"^\W*(?:(?:please|now|also|then|kindly|can you|could you|would you|you should|let's)\s+)*"
_MEDIA = (r"(?:images?|pictures?|photo(?:graph)?s?|drawings?|paintings?|illustrations?|sketch(?:es)?|"
          r"logos?|icons?|infographics?|posters?|"
          r"flyers?|banners?|memes?|gifs?|animations?|videos?|video clips?|movies?|films?|audio(?: clips?)?|"
          r"sound(?: clips?| effects?)?|recordings?|voice ?(?:notes?|messages?)|podcast episodes?|"
          r"3d models?|3-d models?|cad models?|sculptures?|mock-?ups?|wireframes?|renderings?|"
          r"artworks?|portraits?|cartoons?|comics?|collages?|mood ?boards?)"
          # "a movie review", "a video script": text about a medium is a text task.
          r"(?![ -](?:reviews?|scripts?|titles?|synops[ie]s|plots?|summar(?:y|ies)|descriptions?|ideas?|"
          r"concepts?|names?|recommendations?|quotes?|captions?|taglines?|pitch|outlines?|treatments?|"
          r"analys[ie]s|critiques?|lists?|prompts?|alt text|transcripts?)\b)")
# Words that may sit between the verb and the medium ("a simple logo"), but not "a caption for the image".
_FILLER = (r"(?:(?!for\b|of\b|about\b|from\b|to\b|in\b|on\b|with\b|describing\b|based\b|that\b)"
           r"[\w'-]+\s+){0,3}?")
_NON_TEXT = re.compile(
    _LEAD + r"(?:(?:draw|paint|sketch(?! out)|render|illustrate|animate|photograph|film|videotape|sing|"
    r"hum|whistle)\b|(?:create|generate|make|design|produce|build|take|record|shoot|compose|craft|"
    r"construct|develop|output|provide|give me|show me|upload|send|print)\s+" + _FILLER + _MEDIA + r"\b)",
    re.I)
_ABOUT_URLS = re.compile(r"\b(?:urls?|links?|hyperlinks?|domains?|web ?address(?:es)?|websites? address)\b",
                         re.I)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_LABEL = re.compile(r"^(?:[\w ]{0,20}:)?\s*$")
_URL_TAIL = re.compile(r"[\w\-/.%?=&#~+]*[-/][\w\-/.%?=&#~+]*")
_ATTACHED = re.compile(
    r"[<\[(]?\s*(?:(?:see |the )?attached\s+(?:\w+\s+)?(?:photo|picture|image|painting|file|document|"
    r"video|audio|screenshot|chart|graph|pdf|drawing|spreadsheet|link)s?|"
    r"(?:photo|picture|image|painting|file|document|video|audio|screenshot|chart|graph|pdf|drawing)s?"
    r"\s+(?:attached|here|below|above)|(?:photo|picture|image|video|audio|attachment|screenshot|file)s?)"
    r"\s*[>\])]?\s*\.?", re.I)


@audit_check("non_text_task", severity="warning", fields=("prompt",),
             flagged_as="ask for an image, audio, video or 3D model")
def non_text_task(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The instruction asks for an image, drawing, audio, video or 3D model: not a text task."""
    out = []
    for pos, record in enumerate(rows.records):
        instruction = instruction_of(record)
        m = _NON_TEXT.match(instruction)
        if m:
            out.append(Hit(pos, f"the instruction asks for something a text model cannot make "
                                f"({m.group(0).strip()!r})", field="prompt",
                           details={"asks": m.group(0).strip()}))
    return out


def dangling(text: str) -> str | None:
    """``url`` or ``attachment`` when ``text`` is only that (a URL may carry a short label)."""
    if len(text) > 300:
        return None
    url = _URL.search(text)
    rest = _URL.sub("", text).strip()
    if url and (_LABEL.match(rest) or _URL_TAIL.fullmatch(rest)):  # a label, or a URL broken by a space
        return "url"
    if len(text) <= 40 and _ATTACHED.fullmatch(text.strip()):
        return "attachment"
    return None


@audit_check("dangling_input", severity="warning", fields=("prompt",),
             flagged_as="have an input that points at something not there")
def dangling_input(rows: Rows, params: Mapping[str, Any]) -> list[Hit]:
    """The whole input is a URL or an attachment placeholder: the model cannot see what it refers to."""
    out = []
    for pos, prompt in enumerate(rows.prompts):
        if "\n" not in prompt:
            continue
        record = rows.records[pos]
        users = [t.content for t in record.prompt_turns if t.role == "user"]
        text = input_of(users[-1] if users else prompt)
        kind = dangling(text) if text else None
        if kind == "url" and _ABOUT_URLS.search(instruction_of(record)):
            continue  # "output the domain of this URL": the URL is the data
        if text and kind:
            what = "a URL the model cannot open" if kind == "url" else "an attachment that is not there"
            out.append(Hit(pos, f"the input {text[:80]!r} is only {what}", field="prompt",
                           details={"kind": kind, "input": text[:300]}))
    return out
