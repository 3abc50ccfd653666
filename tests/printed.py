"""A printer's view of exported workbooks: LibreOffice renders them to PDF, pdfminer reads back every line
of text with its page, box and glyph size, and the border lines drawn."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTCurve, LTPage, LTTextContainer, LTTextLine

MM = 72 / 25.4
A4 = (595.3, 841.9)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def font_hint() -> str:
    """Why printed sizes may be off here: without Carlito LibreOffice draws Calibri, the workbooks' default
    font that column widths are counted in, with a wider stand-in, and shrinks the sheet to fit."""
    listing = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout \
        if shutil.which("fc-list") else ""
    if "Carlito" in listing:
        return ""
    return " (fonts-crosextra-carlito is not installed: columns print wider than in Excel; .ci/run installs it)"


def render(workbooks: Sequence[Path], folder: Path) -> dict[str, Path]:
    """PDFs of ``workbooks`` by one LibreOffice run with its own profile under ``folder`` (parallel runs of
    the suite must not share a profile: the second would hand its work to the first and return at once)."""
    program = soffice()
    assert program, "soffice is not installed"
    out = folder / "pdf"
    profile = (folder / "lo-profile").resolve().as_uri()
    completed = subprocess.run(
        [program, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "pdf",
         "--outdir", str(out), *map(str, workbooks)],
        capture_output=True, text=True, timeout=600, check=False)
    pdfs = {p.stem: out / f"{p.stem}.pdf" for p in workbooks}
    missing = [name for name, pdf in pdfs.items() if not pdf.exists()]
    assert not missing, f"LibreOffice made no PDF of {missing}: {completed.stdout} {completed.stderr}"
    return pdfs


@dataclass
class Line:
    text: str
    page: int
    x0: float
    top: float  # from the top of the page, as a reader looks at it
    x1: float
    bottom: float
    size: float  # the smallest glyph on the line, in points as printed

    def overlaps(self, other: Line, slack: float = 0.5) -> bool:
        return (self.x0 + slack < other.x1 and other.x0 + slack < self.x1
                and self.top + slack < other.bottom and other.top + slack < self.bottom)


Box = tuple[float, float, float, float]  # x0, top, x1, bottom


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    rules: list[Box] = field(default_factory=list)  # border lines drawn
    glyphs: list[tuple[str, Box]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def _glyphs(page: LTPage) -> Iterable[tuple[str, Box]]:
    for element in page:
        if isinstance(element, LTTextContainer):
            for line in element:
                if isinstance(line, LTTextLine):
                    for char in line:
                        if isinstance(char, LTChar) and char.get_text().strip():
                            yield char.get_text(), (char.x0, page.height - char.y1, char.x1, page.height - char.y0)


def _lines(page: LTPage, number: int) -> Iterable[Line]:
    for element in page:
        if not isinstance(element, LTTextContainer):
            continue
        for line in element:
            if not isinstance(line, LTTextLine):
                continue
            sizes = [c.size for c in line if isinstance(c, LTChar) and c.get_text().strip()]
            text = line.get_text().strip()
            if text and sizes:
                yield Line(text, number, line.x0, page.height - line.y1, line.x1, page.height - line.y0, min(sizes))


def read_pdf(path: Path) -> list[Page]:
    """Each page's text lines (one per cell line: no merging of lines across cells) and drawn rules."""
    pages = []
    params = LAParams(char_margin=1.0, line_margin=0.0, boxes_flow=None)
    for number, page in enumerate(extract_pages(path, laparams=params), start=1):
        printed = Page(number, page.width, page.height, list(_lines(page, number)), glyphs=list(_glyphs(page)))
        printed.rules = [(e.x0, page.height - e.y1, e.x1, page.height - e.y0) for e in page
                         if isinstance(e, LTCurve)]
        pages.append(printed)
    return pages


def overprinted(page: Page, share: float = 0.2) -> list[tuple[str, str]]:
    """Glyphs drawn over each other (more than ``share`` of the smaller one covered): text run into a
    neighbouring cell or into the next row. Glyph by glyph, as lines of text may join across cells."""
    glyphs = sorted(page.glyphs, key=lambda glyph: glyph[1][1])
    found = []
    for index, (text, box) in enumerate(glyphs):
        for other_text, other in glyphs[index + 1:]:
            if other[1] >= box[3]:
                break
            width = min(box[2], other[2]) - max(box[0], other[0])
            height = min(box[3], other[3]) - max(box[1], other[1])
            smaller = min((box[2] - box[0]) * (box[3] - box[1]), (other[2] - other[0]) * (other[3] - other[1]))
            if width > 0 and height > 0 and width * height > share * smaller:
                found.append((text, other_text))
    return found


def find(pages: Sequence[Page], needle: str) -> list[Line]:
    return [line for page in pages for line in page.lines if needle in line.text]
