"""Forms of the reports pages: validation only."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SearchField
from wtforms.validators import DataRequired, Optional

from core import parsing


class FilterForm(FlaskForm):
    """Filters read from the query string (GET: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Keywords"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional(), parsing.in_date_range_field])
    date_to = DateField(_l("To"), validators=[Optional(), parsing.in_date_range_field])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if (
            ok
            and self.date_from.data
            and self.date_to.data
            and self.date_to.data < self.date_from.data
        ):
            self.date_to.errors.append(_l("The end date is before the start date."))
            return False
        return ok


class SupersedeForm(FlaskForm):
    new_id = parsing.IntField(_l("The later decision"), validators=[DataRequired()])


class UndoSupersedeForm(FlaskForm):
    pass
