"""Values printed next to their label: on the same line, right of it, or on the
line below, with labels weighted by how surely they announce the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pipeline.extract.layout import PageLayout, PlacedLine


@dataclass(frozen=True)
class Label:
    pattern: re.Pattern[str]
    weight: float


def weighted_labels(*pairs: tuple[str, float]) -> tuple[Label, ...]:
    return tuple(
        Label(re.compile(r"(?<![A-Za-zÀ-ÿ])(?:" + pattern + ")", re.IGNORECASE), weight)
        for pattern, weight in pairs
    )


@dataclass(frozen=True)
class LabelledText:
    """Text where a labelled value may be printed, and where it sits."""

    label: str
    text: str
    placed: PlacedLine
    where: str
    location_weight: float
    # The line the label is printed on (`placed` holds the text).
    label_placed: PlacedLine


def labelled_texts(
    layouts: Sequence[PageLayout],
    labels: Sequence[Label],
    *,
    exclude: re.Pattern[str] | None = None,
    below: bool = True,
) -> Iterator[tuple[LabelledText, float]]:
    """For every printed label (strongest per line): the rest of its line, the
    boxes right of it on the same row, and the box below it, in that order,
    with the label's weight."""
    for layout in layouts:
        for placed in layout.lines:
            text = placed.line.text
            if exclude is not None and exclude.search(text):
                continue
            found = [(label.pattern.search(text), label.weight) for label in labels]
            matches = [(match, weight) for match, weight in found if match]
            if not matches:
                continue
            match, weight = max(matches, key=lambda item: item[1])
            name = match.group(0).strip()
            rest = text[match.end() :].strip().lstrip(":#.-– ").strip()
            if rest:
                yield (
                    LabelledText(name, rest, placed, "on the same line", 1.0, placed),
                    weight,
                )
            for other in layout.right_of(placed)[:2]:
                far = other.box[0] - placed.box[2] > 0.3 * layout.page.width
                if far or _OTHER_LABEL.match(other.line.text):
                    break  # the row moves on to another column or label
                yield (
                    LabelledText(
                        name, other.line.text, other, "right of it", 0.95, placed
                    ),
                    weight,
                )
            if below:
                for other in layout.below(placed)[:1]:
                    yield (
                        LabelledText(
                            name, other.line.text, other, "below it", 0.8, placed
                        ),
                        weight,
                    )


_OTHER_LABEL = re.compile(r"^\s*[A-Za-zÀ-ÿ][\w .#/-]{1,30}:")


def explain(found: LabelledText) -> str:
    return f"after label '{found.label}', {found.where}"
