"""Frozen revisions of the minutes: the list, one revision (page and canonical JSON), and what
changed between two of them. Routes on the minutes blueprint; freezing and sign-off are in
minutes/confirm_views.py."""

from __future__ import annotations

import difflib

from flask import abort, current_app, render_template, request

from core import parsing
from minutes import bp, confirmations, revisions
from minutes.loading import meeting_view


def _load_revision(meeting, number: int):
    revision = revisions.get_revision(meeting, number)
    if revision is None:
        abort(404)
    return revision


@bp.route("/meetings/<id:meeting_id>/revisions")
@meeting_view()
def revision_list(meeting):
    rows = [
        (r, confirmations.is_confirmed(r), len([c for c in r.confirmations if c.objection is None]))
        for r in reversed(meeting.revisions)
    ]
    return render_template("minutes/revisions.html", meeting=meeting, rows=rows)


@bp.route("/meetings/<id:meeting_id>/revisions/<id:number>")
@meeting_view()
def revision(meeting, number):
    revision = _load_revision(meeting, number)
    content = revisions.content_of(revision)
    return render_template(
        "minutes/revision.html",
        meeting=meeting,
        revision=revision,
        doc=revisions.readable(content),
        confirmed=confirmations.is_confirmed(revision),
        awaiting=revisions.awaiting(meeting, revision),
        state=confirmations.confirmation_state(meeting),
        count=len(meeting.revisions),
    )


@bp.route("/meetings/<id:meeting_id>/revisions/<id:number>.json")
@meeting_view()
def revision_json(meeting, number):
    """The canonical content, byte for byte: `sha256sum` of it is the fingerprint."""
    revision = _load_revision(meeting, number)
    response = current_app.response_class(
        revision.content.encode("utf-8"), mimetype="application/json"
    )
    response.headers["X-Sanmai-Fingerprint"] = revision.fingerprint
    return response


def _diff_rows(old: dict, new: dict) -> list[dict]:
    """Per item (matched by id): added, removed, changed (with a word-level diff) or moved."""
    sections = ("goals", "results", "homework", "breaks", "previews")

    def fields(section, entry) -> tuple[str, ...]:
        if section == "homework":  # who / what / by when
            return (entry["who"], entry["what"], entry["due_date"] or "")
        return (entry["text"] + (" ✕" if entry.get("not_discussed") else ""),)

    def index(doc):
        return {e["id"]: (s, fields(s, e)) for s in sections for e in doc[s]}

    before, after = index(old), index(new)
    rows = []
    for item_id, (section, value) in after.items():
        if item_id not in before:
            rows.append({"change": "added", "section": section, "new": " / ".join(value)})
            continue
        old_section, old_value = before[item_id]
        if old_section == section and old_value == value:
            continue
        if len(old_value) == len(value) == 1:
            ops = _word_diff(old_value[0], value[0])  # text: character by character
        else:
            ops = _field_diff(old_value, value)  # homework: field by field
        rows.append(
            {
                "change": "moved" if old_section != section else "changed",
                "section": section,
                "old_section": old_section,
                "old": " / ".join(old_value),
                "new": " / ".join(value),
                "ops": ops,
            }
        )
    for item_id, (section, value) in before.items():
        if item_id not in after:
            rows.append({"change": "removed", "section": section, "old": " / ".join(value)})
    order = {s: n for n, s in enumerate(sections)}
    return sorted(rows, key=lambda r: order[r["section"]])


def _field_diff(old: tuple, new: tuple) -> list[tuple[str, str]]:
    """Unchanged fields as they are, changed ones as old → new (fields differ in number when
    an item moved between homework and another sheet)."""
    if len(old) != len(new):
        return [("delete", " / ".join(old)), ("equal", " → "), ("insert", " / ".join(new))]
    ops = []
    for n, (a, b) in enumerate(zip(old, new, strict=True)):
        if n:
            ops.append(("equal", " / "))
        ops.extend([("equal", a)] if a == b else [("delete", a), ("equal", " → "), ("insert", b)])
    return ops


def _word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Character-level (Japanese has no spaces): [(op, text)] with op in equal/delete/insert."""
    ops = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", old[i1:i2]))
        else:
            if i2 > i1:
                ops.append(("delete", old[i1:i2]))
            if j2 > j1:
                ops.append(("insert", new[j1:j2]))
    return ops


def _header_changes(old: dict, new: dict) -> list[tuple[str, str, str]]:
    changes = []
    for key in ("title", "starts_at", "ends_at", "place", "facilitator"):
        if old["meeting"].get(key) != new["meeting"].get(key):
            changes.append((key, old["meeting"].get(key) or "", new["meeting"].get(key) or ""))

    def people(doc):
        return {
            a["id"]: f"{a['name']}（{a['organisation']}）" + ("" if a["present"] else " ✕")
            for a in doc["attendees"]
        }

    a, b = people(old), people(new)
    if a != b:
        changes.append(("attendees", "、".join(a.values()), "、".join(b.values())))
    return changes


@bp.route("/meetings/<id:meeting_id>/revisions/diff")
@meeting_view()
def revision_diff(meeting):
    """What changed between two revisions (?from=1&to=2; by default the last two)."""
    numbers = [r.number for r in meeting.revisions]
    if not numbers:
        abort(404)
    to = parsing.arg_int(request.args, "to", 0) or numbers[-1]
    start = parsing.arg_int(request.args, "from", 0) or max(to - 1, numbers[0])
    old, new = _load_revision(meeting, start), _load_revision(meeting, to)
    a, b = revisions.content_of(old), revisions.content_of(new)
    return render_template(
        "minutes/revision_diff.html",
        meeting=meeting,
        old=old,
        new=new,
        numbers=numbers,
        rows=_diff_rows(a, b),
        header=_header_changes(a, b),
    )
