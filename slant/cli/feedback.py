"""`slant feedback`: move labeled corrections between the feedback store and JSONL files."""

from __future__ import annotations

from contextlib import contextmanager

import click

STORE_OPTION = click.option(
    "--url",
    "--db",
    "location",
    default=None,
    metavar="URL|FILE",
    help="The feedback store: postgresql://user@host/database, sqlite:///path or a SQLite file "
    "(default: $SLANT_FEEDBACK_URL, else the file $SLANT_FEEDBACK_DB, else ~/.slant/feedback.sqlite3). "
    "Keep a password out of the command line: use $SLANT_FEEDBACK_URL, $PGPASSWORD or ~/.pgpass.",
)


def open_store(location: str | None):
    """The store, or a ClickException that says why it cannot be opened (password redacted)."""
    from slant.feedback.location import LocationError
    from slant.feedback.store import FeedbackStore
    from slant.settings import SettingsError

    try:
        return FeedbackStore(location)
    except (LocationError, SettingsError) as e:
        raise click.ClickException(str(e)) from None


@contextmanager
def store_errors():
    """A database error (unreachable, lost, newer schema) as a one-line ClickException."""
    from slant.feedback.store import StoreError

    try:
        yield
    except StoreError as e:
        raise click.ClickException(str(e)) from None


@click.group()
def feedback() -> None:
    """Move labeled corrections between the feedback store and JSONL files."""


@feedback.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@STORE_OPTION
def feedback_export(out: str, location: str | None) -> None:
    """Write every stored correction to OUT as JSON lines (one correction per line)."""
    store = open_store(location)
    with store_errors():
        n = store.export_jsonl(out)
    click.echo(f"exported {n} correction(s) from {store.location} to {out}")


@feedback.command("import")
@click.argument("src", type=click.Path(dir_okay=False, exists=True))
@STORE_OPTION
@click.option("--skip-bad", is_flag=True, help="Import the good lines even when some lines are bad.")
def feedback_import(src: str, location: str | None, skip_bad: bool) -> None:
    """Add the corrections in SRC (JSON lines: task, text, labels | label, target?, spans?, article_id?,
    annotator?). All lines are checked first; one bad line imports nothing unless --skip-bad."""
    from slant.feedback.store import FeedbackImportError, StoreFull

    store = open_store(location)
    try:
        with store_errors():
            res = store.import_jsonl(src, skip_bad=skip_bad)
    except (FeedbackImportError, StoreFull) as e:
        raise click.ClickException(str(e)) from None
    for line, message in res["bad"]:
        click.echo(f"skipped line {line}: {message}", err=True)
    click.echo(
        f"imported {res['imported']} correction(s) into {store.location}"
        + (f"; {res['duplicates']} already stored" if res["duplicates"] else "")
        + (f"; {len(res['bad'])} bad line(s) skipped" if res["bad"] else "")
    )


@feedback.command("stats")
@STORE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the JSON that GET /feedback/stats answers.")
def feedback_stats(location: str | None, as_json: bool) -> None:
    """Count the stored corrections per task and label."""
    import json

    store = open_store(location)
    with store_errors():
        stats = store.stats()
    if as_json:
        click.echo(json.dumps(stats, indent=1))
        return
    click.echo(
        f"{stats['rows']} correction(s) in {stats['location']} ({stats['annotators']} annotator(s); "
        f"first {stats['first'] or '-'}, last {stats['last'] or '-'})"
    )
    for task, t in stats["tasks"].items():
        labels = ", ".join(f"{k} {v}" for k, v in sorted(t["labels"].items(), key=lambda kv: -kv[1]))
        click.echo(f"  {task:<11} {t['rows']:>6} row(s), {t['paragraphs']:>6} paragraph(s)  {labels}")
