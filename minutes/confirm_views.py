"""Freezing, sign-off (own device, in the room, guest link).

Routes on the minutes blueprint (revisions and their differences: minutes/revision_views.py);
the rules are in minutes/revisions.py and permissions.py.
"""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

import permissions
from accounts.auth import public
from core import errors
from core.extensions import db
from core.urls import safe_next
from minutes import bp, confirmations, revisions
from minutes.confirm_forms import AnswerForm, ObjectionForm, SendLinkForm
from minutes.loading import meeting_view
from minutes.models import Item


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of `url` (scalable: the projector shows it large)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    return Markup(svg[svg.index("<svg") :])


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def panel(meeting) -> dict:
    """What the confirmation panel (meeting page, projector) shows to the current user."""
    revision = revisions.latest_revision(meeting)
    state = confirmations.confirmation_state(meeting)
    mine = confirmations.attendee_for(current_user, meeting)
    answer = next((r for r in state["attendees"] if mine and r["attendee"] == mine.id), None)
    return {
        "revision": revision,
        "state": state,
        "awaiting": revisions.awaiting(meeting, revision),
        "can_freeze": revisions.can_be_frozen(meeting),
        "runs": permissions.can_run_meeting(current_user, meeting),
        "mine": mine,
        "my_answer": answer,
        "confirm_url": url_for("minutes.confirm_page", meeting_id=meeting.id, _external=True),
    }


@bp.app_context_processor
def _panel_helpers():
    return {
        "confirmation_panel": panel,
        "qr_svg": qr_svg,
        "method_label": confirmations.method_label,
    }


# --- nothing dropped, freeze, correct --------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/freeze", methods=["GET", "POST"])
@meeting_view("run")
def freeze(meeting):
    """The check before freezing (what would be dropped), and the freeze itself."""

    def page():
        problems = revisions.check_nothing_dropped(meeting)
        items = {i.id: i for i in meeting.items}
        return render_template(
            "minutes/confirm_freeze.html",
            meeting=meeting,
            problems=[(p, items.get(p.item_id)) for p in problems],
            can_freeze=revisions.can_be_frozen(meeting),
            latest=revisions.latest_revision(meeting),
        )

    errors.form_page(None, page)  # FreezeRefused: the check page again, with the problems
    if request.method == "POST":
        revision = revisions.freeze(current_user, meeting)
        db.session.commit()
        flash(
            _("Revision %(n)s is frozen. Attendees can confirm it now.", n=revision.number),
            "success",
        )
        return redirect(url_for("minutes.show", meeting_id=meeting.id) + "#confirmation")
    return page()


def _freeze_check(meeting, **_view_args) -> str:
    return safe_next(request.form.get("next"), url_for("minutes.freeze", meeting_id=meeting.id))


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/not-discussed", methods=["POST"])
@meeting_view("run", back=_freeze_check)
def not_discussed(meeting, item_id):
    goal = db.session.get(Item, item_id)
    if goal is None or goal.meeting_id != meeting.id:
        abort(404)
    value = request.form.get("value", "1") == "1"
    revisions.mark_not_discussed(current_user, goal, value)
    db.session.commit()
    return redirect(_freeze_check(meeting))


@bp.route("/meetings/<id:meeting_id>/reopen", methods=["POST"])
@meeting_view("run")
def reopen(meeting):
    """Correct confirmed (or frozen) minutes: back in session; the next freeze is N+1."""
    revisions.start_new_revision(current_user, meeting)
    db.session.commit()
    flash(_("The minutes are open for correction. Freeze them again to confirm."), "success")
    return redirect(url_for("minutes.show", meeting_id=meeting.id))


# --- sign-off --------------------------------------------------------------------------------


@bp.route("/meetings/<id:meeting_id>/confirm")
@meeting_view()
def confirm_page(meeting):
    """Where an attendee reads the frozen revision and confirms it (the QR code leads here)."""
    revision = revisions.latest_revision(meeting)
    attendee = confirmations.attendee_for(current_user, meeting)
    answer = None
    if revision is not None and attendee is not None:
        answer = confirmations.confirmations_by_attendee(revision).get(attendee.id)
    form = AnswerForm(
        revision=revision.number if revision else None,
        fingerprint=revision.fingerprint if revision else "",
    )
    return render_template(
        "minutes/confirm.html",
        meeting=meeting,
        revision=revision,
        doc=revisions.readable(revisions.content_of(revision)) if revision else None,
        awaiting=revisions.awaiting(meeting, revision),
        attendee=attendee,
        answer=answer,
        form=form,
        objection_form=ObjectionForm(
            revision=form.revision.data, fingerprint=form.fingerprint.data
        ),
        action=url_for("minutes.confirm", meeting_id=meeting.id),
        objection_action=url_for("minutes.object_to", meeting_id=meeting.id),
    )


def _answered_revision(meeting, form):
    """The revision the person read; refused when a newer one was frozen since."""
    revision = revisions.latest_revision(meeting)
    if (
        revision is None
        or form.revision.data != revision.number
        or form.fingerprint.data != revision.fingerprint
    ):
        raise revisions.ConfirmationError(
            _("The minutes changed while you were reading them. Please read them again.")
        )
    return revision


def _refusals_answered(meeting, target=None) -> None:
    """A refused answer is answered like a given one: a repeated one is done already (ok),
    anything else is a 409 with the reason."""

    def respond(error):
        if isinstance(error, confirmations.AlreadyConfirmed):
            return _done(meeting, True, str(error), 200, target)
        return _done(meeting, False, str(error), 409, target)

    errors.answer_with(respond)


def _done(meeting, ok: bool, message: str, status: int = 200, target=None):
    if _wants_json():
        return jsonify(ok=ok, message=message, status=meeting.status), status
    flash(message, "success" if ok else "error")
    return redirect(target or url_for("minutes.confirm_page", meeting_id=meeting.id))


@bp.route("/meetings/<id:meeting_id>/confirm", methods=["POST"])
@meeting_view()
def confirm(meeting):
    attendee = confirmations.attendee_for(current_user, meeting)
    if attendee is None or not permissions.can_confirm_as(current_user, attendee):
        abort(403)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    _refusals_answered(meeting)
    revision = _answered_revision(meeting, form)
    confirmations.confirm(current_user, revision, attendee)
    db.session.commit()
    return _done(
        meeting,
        True,
        _("Thank you. Your confirmation of revision %(n)s is recorded.", n=revision.number),
    )


@bp.route("/meetings/<id:meeting_id>/object", methods=["POST"])
@meeting_view()
def object_to(meeting):
    attendee = confirmations.attendee_for(current_user, meeting)
    if attendee is None or not permissions.can_confirm_as(current_user, attendee):
        abort(403)
    form = ObjectionForm()
    if not form.validate_on_submit():
        return _done(
            meeting, False, _("Please say what is wrong, so the facilitator can fix it."), 400
        )
    _refusals_answered(meeting)
    revision = _answered_revision(meeting, form)
    confirmations.object_to(current_user, revision, attendee, form.comment.data)
    db.session.commit()
    return _done(meeting, True, _("Your objection is recorded; the facilitator sees it."))


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/confirm", methods=["POST"])
@meeting_view("run", attendee=True)
def record_in_room(meeting, attendee):
    """The facilitator records a sign-off given in the room."""
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    target = safe_next(request.form.get("next"), url_for("minutes.show", meeting_id=meeting.id))
    _refusals_answered(meeting, target)
    revision = _answered_revision(meeting, form)
    confirmations.record_in_room(current_user, revision, attendee)
    db.session.commit()
    return _done(
        meeting, True, _("Confirmation of %(name)s recorded.", name=attendee.name), 200, target
    )


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/link", methods=["POST"])
@meeting_view("run", attendee=True)
def guest_link(meeting, attendee):
    """A one-time link (and its QR code) for an attendee to confirm without logging in."""
    revision = revisions.latest_revision(meeting)
    if not revisions.awaiting(meeting, revision):
        flash(_("Freeze the minutes first."), "error")
        return redirect(url_for("minutes.show", meeting_id=meeting.id))
    token = confirmations.make_link_token(current_user, revision, attendee)
    url = url_for("minutes.guest_confirm", token=token, _external=True)
    address = attendee.guest_email or (attendee.user.email if attendee.user else "") or ""
    return render_template(
        "minutes/confirm_link.html",
        meeting=meeting,
        revision=revision,
        attendee=attendee,
        url=url,
        hours=confirmations.link_max_age() // 3600,
        send_form=SendLinkForm(email=address),
    )


def _confirmation_panel(meeting, **_view_args) -> str:
    return url_for("minutes.show", meeting_id=meeting.id) + "#confirmation"


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/link/send", methods=["POST"])
@meeting_view("run", back=_confirmation_panel, attendee=True)
def send_guest_link(meeting, attendee):
    """E-mail a fresh one-time link to the attendee (a guest's address, or one typed in)."""
    revision = revisions.latest_revision(meeting)
    back = redirect(_confirmation_panel(meeting))
    form = SendLinkForm()
    if not revisions.awaiting(meeting, revision):
        flash(_("Freeze the minutes first."), "error")
        return back
    if not form.validate_on_submit():
        flash(_("Give one valid e-mail address."), "error")
        return back
    token = confirmations.make_link_token(current_user, revision, attendee)
    url = url_for("minutes.guest_confirm", token=token, _external=True)
    confirmations.send_link(current_user, revision, attendee, form.email.data, url)
    flash(_("The link was sent to %(email)s.", email=form.email.data), "success")
    return back


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
def guest_confirm(token):
    """A guest's one-time link: read the revision, then confirm or object, once. It is public
    (no login): the signed, expiring token names the revision and the attendee."""
    errors.answer_with(
        lambda error: (render_template("minutes/confirm_guest.html", error=str(error)), 410)
    )
    revision, attendee = confirmations.read_link_token(token)
    meeting = revision.meeting
    form, objection_form = AnswerForm(), ObjectionForm()

    def page(answer, message=None):
        return render_template(
            "minutes/confirm_guest.html",
            meeting=meeting,
            revision=revision,
            attendee=attendee,
            answer=answer,
            doc=revisions.readable(revisions.content_of(revision)),
            awaiting=revisions.awaiting(meeting, revision),
            form=form,
            objection_form=objection_form,
            message=message,
        )

    answer = confirmations.confirmations_by_attendee(revision).get(attendee.id)
    if request.method == "POST" and answer is None:
        objecting = request.form.get("answer") == "object"
        valid = objection_form.validate_on_submit() if objecting else form.validate_on_submit()
        if not valid:
            abort(400)
        errors.answer_with(lambda error: (page(None, str(error)), 409))
        answer = confirmations.answer_by_link(
            token, objection_form.comment.data if objecting else None
        )
        db.session.commit()
    return page(answer)


@bp.route("/meetings/<id:meeting_id>/confirmations.json")
@meeting_view()
def confirmations_json(meeting):
    """The live count for the projector: who has confirmed the latest revision."""
    state = confirmations.confirmation_state(meeting)
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-cache"
    return response
