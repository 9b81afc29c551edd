"""Role checks on a record's turns alone (no template needed): what any chat template expects.

* ``unknown_role``: a role other than system/user/assistant (tool roles are
  judged by whether the template keeps them, in :mod:`harness.audit.templates`);
* ``role_order``: a system turn after the start, a conversation that does not
  open with the user, or two user (or two assistant) turns in a row;
* ``missing_final_assistant``: the last turn is not the assistant's;
* ``empty_assistant``: an assistant turn with no text;
* ``echoed_system_prompt``: an assistant turn that starts by repeating the
  system prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from harness.data.record import ASSISTANT, SYSTEM, USER, Record

KNOWN_ROLES = frozenset({SYSTEM, USER, ASSISTANT})
TOOL_ROLES = frozenset({"tool", "function", "ipython"})
ECHO_MIN_CHARS = 8  # shorter system prompts ("Be brief.") are too common a way to start an answer
ECHO_PREFIX_CHARS = 80  # an answer repeating the first 80 characters of the system prompt is an echo


@dataclass(frozen=True)
class RoleIssue:
    check: str
    message: str
    turn: int | None
    text: str


def role_issues(record: Record) -> list[RoleIssue]:
    issues = _unknown_roles(record) + _order(record)
    if record.turns and record.turns[-1].role != ASSISTANT:
        last = record.turns[-1]
        issues.append(RoleIssue("missing_final_assistant",
                                f"the conversation ends with a {last.role!r} turn, not the assistant's",
                                len(record.turns) - 1, last.content))
    for k, turn in enumerate(record.turns):
        if turn.role == ASSISTANT and not turn.content.strip():
            issues.append(RoleIssue("empty_assistant", f"assistant turn {k} is empty", k, turn.content))
    echo = _echo(record)
    if echo is not None:
        issues.append(echo)
    return issues


def _unknown_roles(record: Record) -> list[RoleIssue]:
    """One issue per record, naming every unknown role (a ShareGPT file repeats them per turn)."""
    turns = [k for k, t in enumerate(record.turns) if t.role not in KNOWN_ROLES | TOOL_ROLES]
    if not turns:
        return []
    roles = ", ".join(sorted({repr(record.turns[k].role) for k in turns}))
    return [RoleIssue("unknown_role", f"unknown role {roles} (turn {turns[0]})", turns[0],
                      record.turns[turns[0]].content)]


def _order(record: Record) -> list[RoleIssue]:
    for k, turn in enumerate(record.turns):
        if turn.role == SYSTEM and k > 0:
            return [RoleIssue("role_order", f"system turn at position {k}, not at the start", k,
                              turn.content)]
    chat = [(k, t) for k, t in enumerate(record.turns) if t.role in (USER, ASSISTANT)]
    if chat and chat[0][1].role != USER:
        k, t = chat[0]
        return [RoleIssue("role_order", "the conversation opens with the assistant, not the user", k,
                          t.content)]
    for (_, a), (k, b) in pairwise(chat):
        if a.role == b.role:
            return [RoleIssue("role_order", f"two {b.role} turns in a row (turn {k})", k, b.content)]
    return []


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _echo(record: Record) -> RoleIssue | None:
    system = next((t.content for t in record.turns if t.role == SYSTEM), "")
    probe = normalize(system)[:ECHO_PREFIX_CHARS]
    if len(probe) < ECHO_MIN_CHARS:
        return None
    for k, turn in enumerate(record.turns):
        if turn.role == ASSISTANT and normalize(turn.content[: len(system) * 2 + 16]).startswith(probe):
            return RoleIssue("echoed_system_prompt",
                             f"assistant turn {k} starts by repeating the system prompt", k, turn.content)
    return None
