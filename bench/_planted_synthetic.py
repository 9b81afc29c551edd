"""Set C: the defect classes of synthetic instruction data, planted into real rows.

Clean rows come from the deduplicated real pool (``_planted_data.real_pool``),
from a part sets A and B do not use; per class, ``per_class`` rows are made
defective the way generated data goes wrong (the markers are the ones the
original Stanford Alpaca data has, AlpacaDataCleaned's list):

==========================  ==========================================================
class (expected check)      how it is planted into a real row
==========================  ==========================================================
placeholder_input           "<noinput>", "No input.", "Noinput", "<no input>", "N/A", ...
                            as the row's input paragraph (one finding set-wide for
                            ``inconsistent_markers``: several spellings are used)
placeholder_output          the response replaced by "<nooutput>", "N/A", "None", ...
non_text_task               the instruction turned into a request for an image, logo,
                            audio, video or 3D model of its subject
dangling_input              a URL or an attachment placeholder as the whole input
repetition                  a response caught in a loop: its last sentence, a line or a
                            phrase repeated 4-10 times
cut_off_response            a prose response (60+ words, ending on punctuation, no
                            equations) cut in its second half, mid-word or after a word
refusal                     a refusal or "As an AI language model" boilerplate
control_characters          a C0 control character, DEL or U+FFFD inserted
literal_escapes             the response's line breaks (or sentence breaks) written "\\n"
mojibake                    curly quotes / accents added, then UTF-8 read as cp1252
stub (short_target or       a 40+-word response cut to its first word: what the old
cut_off_response)           one-word rule caught, which the lenient short_target must
                            not lose where it can tell (a first word that is a name or
                            a number is a fair one-word answer: those are missed)
==========================  ==========================================================
"""

from __future__ import annotations

import random
import re

from bench._planted_data import Pair
from bench._planted_defects import Label, PlantedSet

CLASSES = ("placeholder_input", "placeholder_output", "inconsistent_markers", "non_text_task",
           "dangling_input", "repetition", "cut_off_response", "refusal", "control_characters",
           "literal_escapes", "mojibake", "stub")
EXPECTED = {c: (c,) for c in CLASSES if c != "stub"} | {"stub": ("short_target", "cut_off_response")}
NO_INPUT = ("<noinput>", "No input.", "Noinput", "<no input>", "N/A", "No input required", "None",
            "<No Input>")
NO_OUTPUT = ("<nooutput>", "N/A", "None", "<No output>", "No output required", "<nooutput> This type of "
             "instruction cannot be fulfilled by a GPT model.", "<noinput>", "n/a")
MEDIA = ("Draw a picture of {}", "Design a logo for {}", "Create an image that shows {}",
         "Render a 3D model of {}", "Record an audio clip about {}", "Generate a video about {}",
         "Paint a landscape inspired by {}", "Make a short animation of {}", "Take a photo of {}",
         "Create an illustration for {}")
DANGLING = ("https://www.example.com/articles/{}", "Article: https://news.example.org/{}.html",
            "<Picture Attached>", "Attached photo", "[image]", "See attached file.", "www.example.net/{}",
            "Attached Painting")
REFUSALS = ("I'm sorry, but I cannot help with that request.",
            "As an AI language model, I do not have personal opinions, but {}",
            "I cannot provide that information. Please consult a professional.",
            "I am unable to complete this task as it requires access to the internet.",
            "As an AI, I can't browse the web. However, {}",
            "I apologize, but I cannot generate that content.")
CONTROLS = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)] + ["\ufffd"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z]+", text.lower())[:5]) or "page"


def _subject(prompt: str) -> str:
    first = prompt.split("\n\n")[0].strip().rstrip(".?!")
    return first[0].lower() + first[1:] if first else "the topic"


def _loop(response: str, rng: random.Random) -> str:
    """The response caught in a loop: a sentence, a line or a phrase repeated until a limit."""
    sentences = [s for s in _SENTENCE.split(response.strip()) if s]
    kind = rng.randrange(3)
    times = rng.randint(4, 10)
    if kind == 0 and sentences:
        return response.rstrip() + (" " + sentences[-1]) * times
    if kind == 1:
        lines = [ln for ln in response.strip().split("\n") if len(ln.split()) >= 3] or [response.strip()]
        return response.rstrip() + ("\n" + rng.choice(lines)) * times
    words = response.split()
    start = rng.randrange(max(len(words) - 4, 1))
    phrase = " ".join(words[start:start + rng.randint(2, 4)])
    return response.rstrip() + (" " + phrase) * (times * 3)


def _cut(response: str, rng: random.Random) -> str:
    body = response.rstrip()
    for _ in range(100):
        k = rng.randrange(len(body) // 2, len(body) - 1)
        if rng.random() < 0.5:  # at a word boundary, else wherever it falls (often mid-word)
            k = max(body.rfind(" ", 0, k), len(body) // 2)
        cut = body[:k].rstrip()
        if cut and cut[-1] not in ".!?\"')]*":
            return cut
    return body[: len(body) // 2].rstrip(" .!?")


def _mojibake(response: str, rng: random.Random) -> str:
    fancy = response.replace("'", "\u2019").replace(" - ", " \u2014 ")
    if fancy == response:
        extra = [" Bon app\u00e9tit!", " (about 20\u00b0C)", " \u201cEnjoy.\u201d"]
        fancy = response.rstrip() + rng.choice(extra)
    return fancy.encode("utf-8").decode("cp1252", errors="replace")


def _escapes(response: str) -> str:
    if "\n" in response.strip():
        return response.strip().replace("\n", "\\n")
    parts = _SENTENCE.split(response.strip())
    return "\\n".join(parts) if len(parts) > 1 else response.strip() + "\\nThat is all."


def _plant_one(kind: str, pair: Pair, rng: random.Random, k: int) -> Pair | None:
    prompt, response = pair
    single_input = "\n\n" not in prompt
    if kind == "placeholder_input":
        return (prompt + "\n\n" + NO_INPUT[k % len(NO_INPUT)], response) if single_input else None
    if kind == "placeholder_output":
        return prompt, NO_OUTPUT[k % len(NO_OUTPUT)]
    if kind == "non_text_task":
        return MEDIA[k % len(MEDIA)].format(_subject(prompt)) + ".", response
    if kind == "dangling_input":
        return (prompt + "\n\n" + DANGLING[k % len(DANGLING)].format(_slug(prompt)), response) \
            if single_input else None
    if kind == "repetition":
        return (prompt, _loop(response, rng)) if len(response.split()) >= 30 else None
    if kind == "cut_off_response":
        ok = len(response.split()) >= 60 and response.rstrip()[-1:] in ".!?" and "=" not in response
        return (prompt, _cut(response, rng)) if ok else None
    if kind == "refusal":
        return prompt, REFUSALS[k % len(REFUSALS)].format(response[:1].lower() + response[1:])
    if kind == "control_characters":
        at = rng.randrange(len(response) + 1)
        return prompt, response[:at] + rng.choice(CONTROLS) + response[at:]
    if kind == "literal_escapes":
        return (prompt, _escapes(response)) if len(response.split()) >= 10 else None
    if kind == "mojibake":
        return prompt, _mojibake(response, rng)
    if kind == "stub":
        if len(response.split()) < 40:
            return None
        return prompt, response.split()[0]
    raise ValueError(kind)


def build_set_c(pool: list[Pair], clean: range, *, per_class: int, seed: int) -> PlantedSet:
    """The ``clean`` rows of the pool, then ``per_class`` planted rows per class, each made from another
    pool row (set C is audited alone, so its sources may be rows sets A and B use)."""
    rng = random.Random(seed)
    s = PlantedSet(train=[pool[i] for i in clean], eval=[])
    spare = [i for i in range(len(pool)) if i not in clean]
    rng.shuffle(spare)
    markers: list[int] = []
    for kind in CLASSES:
        if kind == "inconsistent_markers":
            continue
        made = 0
        while made < per_class and spare:
            planted = _plant_one(kind, pool[spare.pop()], rng, made)
            if planted is None:
                continue
            row = s.add_train(planted)
            s.labels.append(Label(kind, (row,)))
            if kind == "placeholder_input":
                markers.append(row)
            made += 1
    s.labels.append(Label("inconsistent_markers", tuple(markers)))
    return s
