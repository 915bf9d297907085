"""Fill msgstr values of a catalogue from tab-separated lines on stdin: `msgid<TAB>msgstr`.

    python scripts/translate.py accounts/translations/ja/LC_MESSAGES/messages.po < ja.tsv

Prints the msgids that still have no translation.
"""

import sys

from babel.messages.pofile import read_po, write_po


def main(path: str) -> None:
    with open(path, "rb") as f:
        catalog = read_po(f, abort_invalid=True)
    for line in sys.stdin.read().splitlines():
        if "\t" not in line:
            continue
        msgid, msgstr = line.split("\t", 1)
        message = catalog.get(msgid.replace("\\n", "\n"))
        if message is None:
            print(f"not in catalogue: {msgid}", file=sys.stderr)
            continue
        message.string = msgstr.replace("\\n", "\n")
        message.flags.discard("fuzzy")
    with open(path, "wb") as f:
        write_po(f, catalog, width=100, sort_output=True, omit_header=False)
    missing = [m.id for m in catalog if m.id and not m.string]
    for msgid in missing:
        print(f"untranslated: {msgid}")


if __name__ == "__main__":
    main(sys.argv[1])
