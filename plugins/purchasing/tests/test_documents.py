"""The purchase order's PDF speaks Helvetica's Latin-1: other letters are spelled in
ASCII where they can be, and the figures of the order are never touched."""

from __future__ import annotations

from erpkit_purchasing.documents import latin


def test_letters_outside_latin_1_are_spelled_or_marked():
    assert latin("Łódź €5 \u2013 Straße") == "Lódz EUR5 - Straße"
    assert latin("水壶 K-1 12.500") == "?? K-1 12.500"
