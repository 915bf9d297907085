"""The per-package catalogues are merged at run time: one English string must mean one thing.

Two packages translating the same msgid differently would let whichever loads last win
everywhere (e.g. "Preview" as プレビュー on the minutes' sheet ③).
"""

from collections import defaultdict
from pathlib import Path

from babel.messages.pofile import read_po

import app as application

ROOT = Path(application.__file__).parent


def _catalogues(locale: str):
    for directory in application.translation_directories():
        po = Path(directory) / locale / "LC_MESSAGES" / "messages.po"
        if po.exists():
            with po.open("rb") as f:
                yield Path(directory).parent.name, read_po(f)


def test_one_english_string_has_one_japanese_translation():
    seen = defaultdict(dict)
    for package, catalog in _catalogues("ja"):
        for message in catalog:
            if message.id and message.string:
                seen[(message.context, str(message.id))][package] = str(message.string)
    clashes = {key: found for key, found in seen.items() if len(set(found.values())) > 1}
    assert clashes == {}


def test_every_japanese_string_is_translated():
    missing = [
        (package, message.id)
        for package, catalog in _catalogues("ja")
        for message in catalog
        if message.id and not message.string
    ]
    assert missing == []
