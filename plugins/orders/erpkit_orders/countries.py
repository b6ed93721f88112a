"""Countries as people write them (``UK``, ``USA``, ``Germany``, ``de``) to ISO 3166 codes.

pycountry carries the ISO 3166 names and codes (and follows their revisions), so we keep
no table of our own beyond the few names in everyday use that ISO does not list.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

#: Everyday names that are neither an ISO code nor an ISO name.
ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
           "great britain": "GB", "northern ireland": "GB", "holland": "NL"}


class UnknownCountry(ValueError):
    pass


@lru_cache(maxsize=1024)
def country_code(text: str) -> str:
    """The ISO 3166 alpha-2 code of ``text``: a code (``GB``, ``GBR``) or an English name.

    Raises :class:`UnknownCountry` with the reason when no single country matches.
    """
    cleaned = " ".join(text.split())
    if cleaned.lower() in ALIASES:
        return ALIASES[cleaned.lower()]
    try:
        return str(pycountry.countries.lookup(cleaned).alpha_2)
    except LookupError:
        pass
    try:
        found = {str(c.alpha_2) for c in pycountry.countries.search_fuzzy(cleaned)}
    except LookupError:
        found = set()
    if len(found) == 1:
        return found.pop()
    raise UnknownCountry(f"unknown country {text!r}; use an ISO 3166 code (GB, US, DE) or "
                         "its English name")
