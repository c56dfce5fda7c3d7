"""Put back the spaces PP-OCRv4's recogniser drops between Latin words.

The shipped recognition model was trained mostly on Chinese, where words have
no spaces, so on receipts it often reads "MR D.I.Y. (JOHOR) SDN BHD" as
"MRD.I.Y.(JOHOR)SDNBHD". The CTC output still shows the gap: characters of one
word sit about three columns apart, a dropped space leaves six or more. This
decoder reads the same argmax path as Paddle's CTCLabelDecode and inserts a space
where the gap says there was one.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# Glyphs so narrow that the gap beside them is wider without any space.
NARROW = frozenset("1Iil|!'")
MIN_SPACE_GAP = 6  # CTC columns; a letter is ~3 columns wide at any image size


def decode_with_spaces(
    indices: npt.NDArray[np.int64],
    probabilities: npt.NDArray[np.float32],
    characters: Sequence[str],
) -> tuple[str, float]:
    """Decode one CTC row (blank = index 0) into text and mean confidence."""
    emitted: list[tuple[int, str, float]] = []  # column, character, probability
    previous = 0
    for column, index in enumerate(indices.tolist()):
        if index != 0 and index != previous:
            emitted.append((column, characters[index], float(probabilities[column])))
        previous = index
    if not emitted:
        return "", 0.0
    gaps = [
        later[0] - earlier[0]
        for earlier, later in itertools.pairwise(emitted)
        if earlier[1] != " " and later[1] != " "
    ]
    threshold = max(MIN_SPACE_GAP, round(1.75 * statistics.median(gaps))) if gaps else 0
    text = [emitted[0][1]]
    for (column, character, _), (next_column, next_character, _) in itertools.pairwise(
        emitted
    ):
        if gaps and " " not in (character, next_character):
            needed = threshold + (
                1 if character in NARROW or next_character in NARROW else 0
            )
            if next_column - column >= needed:
                text.append(" ")
        text.append(next_character)
    confidence = float(np.mean([probability for _, _, probability in emitted]))
    return "".join(text), confidence


class SpacingCtcDecoder:
    """A drop-in for Paddle's CTCLabelDecode postprocess op (inference only)."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.characters: list[str] = list(original.character)

    def __call__(self, preds: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("return_word_box"):
            return self.original(preds, *args, **kwargs)
        if isinstance(preds, (list, tuple)):
            preds = preds[-1]
        preds = np.asarray(preds)
        indices = preds.argmax(axis=2)
        probabilities = preds.max(axis=2)
        return [
            decode_with_spaces(indices[row], probabilities[row], self.characters)
            for row in range(indices.shape[0])
        ]
