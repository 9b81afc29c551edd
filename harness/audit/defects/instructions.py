"""What an instruction asks for: long-form text, N items, or a short answer (regex cues, English).

:func:`instruction_of` takes the final user turn's first paragraph (for
alpaca rows: the instruction without its input). :func:`expects_long_answer`
returns what the instruction asks for when that cannot be a few words:

* a lead verb of writing or explaining (write, compose, describe, explain,
  discuss, summarize, outline, compare, tell me about, how/why questions...),
  unless its object is short by nature (a title, a name, a slogan, a word);
* a verb of making or giving (generate, create, give, provide, suggest...)
  whose object is long-form (a story, an essay, a list, steps, tips, code...);
* a listing verb with a count ("name three countries"): at least that many words.

An explicit brevity cue ("in one word", "yes or no", "true or false") wins
over all of these. Anything else (classify, compute, convert, pick, translate,
what/which/who questions) may well be answered in a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.data.record import USER, Record

_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10}
_LEAD = r"^\W*(?:(?:please|now|also|then|kindly|can you|could you|would you|you should|let's)\s+)*"
_BRIEF = re.compile(
    r"\b(?:in |with |using )?(?:one|a single|single|1|two|2|three|3)[- ]words?\b|\bin a word\b|"
    r"\byes(?: or |/)no\b|\btrue(?: or |/)false\b|\b(?:one|single|a) (?:number|digit|letter|character)\b",
    re.I)
_SHORT_OBJECT = (r"(?:an? |the |your |some )?(?:new |short |catchy |creative |good |possible |suitable |"
                 r"random |unique |brief |one[- ]line )*(?:titles?|names?|headlines?|slogans?|taglines?|"
                 r"hashtags?|words?|numbers?|digits?|usernames?|passwords?|acronyms?|abbreviations?|"
                 r"equations?|formulas?|expressions?|symbols?|emojis?|labels?|keywords?|answer|"
                 r"synonyms?|antonyms?|rhymes?|plurals?|letters? of the|codes? for)\b")
_WRITE = re.compile(
    _LEAD + r"(?P<verb>write|compose|draft|pen|describe|explain|discuss|elaborate|summari[sz]e|outline|"
    r"narrate|compare|contrast|justify|argue|brainstorm|list|tell (?:me )?(?:a |an |about|how|why|the story))"
    r"\b(?P<rest>.*)", re.I | re.S)
_HOW_WHY = re.compile(_LEAD + r"(?:how (?:do|does|did|can|could|should|to|is|are|was|were|has|have|might|"
                      r"will|exactly)|why)\b", re.I)
_MAKE = re.compile(
    _LEAD + r"(?:generate|create|give|provide|offer|suggest|share|recommend|produce|come up with|develop|"
    r"design|construct|make|prepare|plan|propose|formulate|build|devise|present|write up)\b(?P<rest>.*)",
    re.I | re.S)
_LONG_OBJECT = re.compile(
    r"\b(?:stor(?:y|ies)|essays?|poems?|paragraphs?|articles?|letter|e-?mails?|blogs?|blog posts?|"
    r"speech(?:es)?|summar(?:y|ies)|descriptions?|explanations?|overviews?|plans?|dialog(?:ue)?s?|"
    r"conversations?|scripts?|reviews?|reports?|recipes?|outlines?|songs?|lyrics|lists?|steps|"
    r"instructions|tips|ideas|reasons|ways|examples|advice|arguments?|proposals?|biograph(?:y|ies)|"
    r"narratives?|tutorials?|guides?|strateg(?:y|ies)|programs?|functions?|algorithms?|surveys?|"
    r"questionnaires?|questions|sentences|haikus?|limericks?|sonnets?|introductions?|conclusions?|"
    r"pitch(?:es)?|agendas?|itinerar(?:y|ies)|menus?|timelines?|analys[ie]s|comparisons?|"
    r"advertisements?|ads?|press releases?|cover letters?|job descriptions?|checklists?|rules|"
    r"guidelines|policies|policy|jokes?|riddles?|character sketch(?:es)?|scenarios?|paragraph)\b", re.I)
_COUNT = re.compile(
    _LEAD + r"(?:list|name|give|provide|suggest|generate|identify|mention|state|write|create|come up with|"
    r"brainstorm|describe|explain|outline|find|recommend|offer|share|think of|propose|compose|produce|"
    r"select|choose|pick|enumerate)(?:\s+(?:me|us|at least|exactly|up to|about|around|a list of|the|some|"
    r"your|of))*\s+(?P<n>two|three|four|five|six|seven|eight|nine|ten|[2-9]|1[0-9])\s+(?:[\w-]+\s+){0,2}?"
    r"(?!(?:characters|letters|digits|decimals|places|bits|bytes|years|times|numbers)\b)\w+s\b", re.I)
_FIRST_PARAGRAPH = re.compile(r"\n\s*\n")


# One word that only opens a sentence: a target that is just this was cut after its first word.
_OPENERS = frozenset((
    "the", "a", "an", "and", "or", "but", "so", "if", "when", "while", "since", "because", "although",
    "first", "firstly", "then", "next", "finally", "initially", "altogether", "together", "overall", "thus",
    "therefore", "however", "also", "to", "in", "on", "at", "for", "with", "from", "by", "of", "as", "into",
    "after", "before", "during", "there", "here", "this", "these", "those", "that", "let", "let's", "we",
    "it", "i", "he", "she", "they", "you", "each", "every", "twice", "half", "once", "sure", "okay", "ok",
    "yes,", "well", "now", "one", "some", "many", "most", "all", "both", "according", "based", "given",
    "using"))
_ABOUT_WORDS = re.compile(r"\b(?:words?|articles?|pronouns?|conjunctions?|prepositions?|determiners?|"
                          r"blank|fill in|missing|complete the|part of speech|grammar)\b", re.I)


def opener_stub(target: str, instruction: str) -> bool:
    """``target`` is one word that only opens a sentence ("The", "First", "Levi's"), not asked for."""
    word = target.strip().rstrip(",:;").lower()
    if not word or " " in word or _ABOUT_WORDS.search(instruction):
        return False
    return word in _OPENERS or (word.endswith(("'s", "’s")) and len(word) > 3)


@dataclass(frozen=True)
class Expectation:
    """What the instruction asks for, and the fewest words an answer to it can have."""

    what: str
    min_words: int


def instruction_of(record: Record, limit: int = 400) -> str:
    """The final user turn's first paragraph, up to ``limit`` characters (the prompt if no user turn)."""
    turns = record.turns
    last = len(turns) - 1 if turns and turns[-1].role != USER else len(turns)  # before the target
    text = next((t.content for t in reversed(turns[:last]) if t.role == USER), None)
    head = (record.prompt if text is None else text)[:limit].strip()
    return _FIRST_PARAGRAPH.split(head, maxsplit=1)[0] if "\n" in head else head


def expects_long_answer(instruction: str, long_words: int = 4) -> Expectation | None:
    """What ``instruction`` asks for when an answer must have more than a few words, else None.

    ``long_words`` is the fewest words long-form output can have.
    """
    text = instruction.strip()
    if not text or _BRIEF.search(text):
        return None
    count = _COUNT.match(text)
    if count:
        n = count.group("n").lower()
        items = _NUMBERS.get(n) or int(n)
        return Expectation(f"{items} items", items)
    write = _WRITE.match(text)
    if write and not re.match(r"\s*" + _SHORT_OBJECT, write.group("rest"), re.I):
        return Expectation(f"long-form text ({write.group('verb').lower()} ...)", long_words)
    if _HOW_WHY.match(text):
        return Expectation("an explanation (how/why)", long_words)
    make = _MAKE.match(text)
    if make:
        obj = _LONG_OBJECT.search(make.group("rest")[:80])
        if obj and not re.match(r"\s*" + _SHORT_OBJECT, make.group("rest"), re.I):
            return Expectation(f"long-form text (a {obj.group(0).lower()})", long_words)
    return None
