"""`flask redmine import`: a Redmine's users, organisations, projects, memberships, reference
data (workflows included), issues, custom fields, attachments, relations, watchers and journals
brought into Sanmai from Redmine's own database (read only) and its files/ directory.

source.py reads Redmine's tables, mapping.py holds the rules that turn Redmine's shapes into
Sanmai's (fiscal years, roles, languages), mapfile.py reads and checks the mapping file that
overrides them, organisations.py places people and projects in organisations, files.py and
links.py bring what hangs on issues, run.py imports kind by kind in order and counts,
models.py remembers what each Redmine row became so that a second run changes only what
changed, and cli.py is the command.
"""
