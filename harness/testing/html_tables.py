"""Read a report's tables back as cell texts, the way a reader sees them (tags dropped, entities decoded)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            # Text of sibling tags is separated as a browser would lay it out, then whitespace collapsed.
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data + " ")


def tables(html: str) -> list[list[list[str]]]:
    """Every ``<table>`` in ``html`` as rows of cell texts, in document order."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def table_rows(html: str, first_header: str) -> list[dict[str, str]]:
    """The first table whose first header cell is ``first_header``, as one dict per body row."""
    table = next(t for t in tables(html) if t and t[0] and t[0][0] == first_header)
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]
