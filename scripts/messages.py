"""Extract translatable strings per package and update its ja/en catalogues.

Each package keeps its own catalogue (`<package>/translations`), so work on one package
never edits another's .po file; the shared layout lives in the top-level `translations/`.
Flask-Babel merges them all at run time (app.translation_directories()).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYBABEL = str(Path(sys.executable).parent / "pybabel")
PACKAGES = [
    "accounts",
    "projects",
    "attachments",
    "minutes",
    "tickets",
    "exports",
    "reports",
    "redmine",
]
SHARED = ["app.py", "core/formatting.py", "core/markup.py", "permissions.py", "core/textfields.py"]
SHARED += ["templates/_macros"]
SHARED += [str(p.relative_to(ROOT)) for p in (ROOT / "templates").glob("*.html")]
CONFIG = ROOT / "scripts" / "babel.cfg"
SHARED += ["core/parsing.py"]


def run(*args: str) -> None:
    result = subprocess.run([PYBABEL, *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stdout + result.stderr)


def update(target: Path, sources: list[str]) -> None:
    sources = [s for s in sources if (ROOT / s).exists()]
    if not sources:
        return
    target.mkdir(parents=True, exist_ok=True)
    pot = target / "messages.pot"
    run(
        "extract",
        "-F",
        str(CONFIG),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        str(pot),
        *sources,
    )
    for locale in ("ja", "en"):
        po = target / locale / "LC_MESSAGES" / "messages.po"
        if po.exists():
            run("update", "-i", str(pot), "-d", str(target), "-l", locale, "--no-fuzzy-matching")
        else:
            run("init", "-i", str(pot), "-d", str(target), "-l", locale)
    pot.unlink()
    print(f"updated {target.relative_to(ROOT)}")


def main() -> None:
    update(ROOT / "translations", SHARED)
    for package in PACKAGES:
        if (ROOT / package).is_dir():
            update(ROOT / package / "translations", [package, f"templates/{package}"])


if __name__ == "__main__":
    main()
