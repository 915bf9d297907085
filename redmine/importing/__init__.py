"""`flask redmine import`: a Redmine's users, projects, memberships, reference data, issues,
custom fields, attachments, relations, watchers and journals brought into Sanmai from
Redmine's own database (read only) and its files/ directory.

source.py reads Redmine's tables, mapping.py holds the rules that turn Redmine's shapes into
Sanmai's (fiscal years, roles, languages), files.py and links.py bring what hangs on issues,
run.py imports kind by kind in order and counts, models.py remembers what each Redmine row
became so that a second run changes only what changed, and cli.py is the command.
"""
