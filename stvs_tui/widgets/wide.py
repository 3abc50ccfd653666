"""Wide (CJK) characters are never halved where layers meet.

Textual's compositor cuts every screen line at the edges of every widget on it, in every layer, divides each
widget's line at those cuts and takes each piece from the top-most widget there. A double-width character that
straddles a cut is split by ``Segment.split_cells`` into two spaces, even when both halves come from the same
widget: a toast shown over a form lost every character that sat over an edge of the form's widgets beneath
(``该月报告已报送  不能修改``), and the same happened to a footer key under a toast (``^p   令``).

``mend_wide_characters`` joins two neighbouring pieces of one widget's line again wherever such a character
was split, so it is drawn whole. Where the two sides come from different widgets the character is really half
covered by the upper one, and stays a space (what a terminal would show). Installed for Textual's compositor
by ``install``; both the full and the partial screen updates go through it.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, get_character_cell_size
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip

_installed = False


def _splits_wide_character(strip: Strip, cut: int) -> bool:
    """Whether a double-width character of ``strip`` covers cells ``cut - 1`` and ``cut``."""
    if cut <= 0:
        return False
    pos = 0
    for text, _style, control in strip:
        if control:
            continue
        width = cell_len(text)
        if pos + width < cut:
            pos += width
            continue
        for char in text:
            size = get_character_cell_size(char)
            if pos + size > cut:
                return size == 2 and pos == cut - 1
            pos += size
            if pos >= cut:
                return False
    return False


def mend_wide_characters(chops: list[dict[int, Strip | None]], owners: list[dict[int, tuple[Strip, int]]],
                         cuts: list[list[int]]) -> None:
    """Join, in place, neighbouring pieces of one source line that split a wide character between them."""
    for y, line in enumerate(chops):
        owner_line = owners[y]
        if len(owner_line) < 2:
            continue
        ends = dict(zip(cuts[y][:-1], cuts[y][1:], strict=True))
        keys = list(line)
        start = keys[0]
        for cut in keys[1:]:
            left, right = owner_line.get(start), owner_line.get(cut)
            if (left is not None and right is not None and left[0] is right[0] and left[1] == right[1]
                    and _splits_wide_character(left[0], cut - left[1])):
                source, x = left
                line[start] = source.crop(start - x, ends[cut] - x)
                del line[cut]
                ends[start] = ends[cut]
                continue
            start = cut


def _render_chops(self: Compositor, crop: Region, is_rendered_line: Any) -> list[dict[int, Strip | None]]:
    """Textual 8's ``Compositor._render_chops``, remembering which line each piece came from, then mended."""
    cuts = self.cuts
    chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
    owners: list[dict[int, tuple[Strip, int]]] = [{} for _ in cuts]
    for region, clip, strips in self._get_renders(crop):
        render_region = region.intersection(clip)
        render_x = render_region.x
        first_cut, last_cut = render_region.column_span
        for y, strip in zip(render_region.line_range, strips, strict=False):
            if not is_rendered_line(y):
                continue
            chops_line = chops[y]
            final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
            cut_strips = strip.divide([cut - render_x for cut in final_cuts[1:]])
            for cut, piece in zip(final_cuts, cut_strips, strict=False):
                if chops_line.get(cut) is None:
                    chops_line[cut] = piece
                    owners[y][cut] = (strip, render_x)
    mend_wide_characters(chops, owners, cuts)
    return chops


def _render_partial_update(self: Compositor) -> ChopsUpdate | None:
    """Textual 8's ``render_partial_update``, with each piece's end taken from the (mended) pieces."""
    screen_region = self.size.region
    update_regions = self._dirty_regions.copy()
    self._dirty_regions.clear()
    if not update_regions:
        return None
    crop = Region.from_union(update_regions).intersection(screen_region)
    spans = list(self._regions_to_spans(update_regions))
    is_rendered_line = {y for y, _, _ in spans}.__contains__
    chops = self._render_chops(crop, is_rendered_line)
    chop_ends = [[*list(line)[1:], cut_set[-1]] for line, cut_set in zip(chops, self.cuts, strict=True)]
    return ChopsUpdate(chops, spans, chop_ends)


def install() -> None:
    """Make Textual's compositor mend split wide characters (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    Compositor._render_chops = _render_chops  # type: ignore[method-assign,assignment]
    Compositor.render_partial_update = _render_partial_update  # type: ignore[method-assign]
