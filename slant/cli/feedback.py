"""`slant feedback`: move labeled corrections between the feedback store and JSONL files."""

from __future__ import annotations

import click


@click.group()
def feedback() -> None:
    """Move labeled corrections between the feedback store and JSONL files."""


@feedback.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option(
    "--db",
    default=None,
    envvar="SLANT_FEEDBACK_DB",
    help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).",
)
def feedback_export(out: str, db: str | None) -> None:
    """Write every stored correction to OUT as JSON lines (one correction per line)."""
    from slant.feedback.store import FeedbackStore

    store = FeedbackStore(db)
    n = store.export_jsonl(out)
    click.echo(f"exported {n} correction(s) from {store.path} to {out}")


@feedback.command("import")
@click.argument("src", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--db",
    default=None,
    envvar="SLANT_FEEDBACK_DB",
    help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).",
)
@click.option("--skip-bad", is_flag=True, help="Import the good lines even when some lines are bad.")
def feedback_import(src: str, db: str | None, skip_bad: bool) -> None:
    """Add the corrections in SRC (JSON lines: task, text, labels | label, target?, spans?, article_id?,
    annotator?). All lines are checked first; one bad line imports nothing unless --skip-bad."""
    from slant.feedback.store import FeedbackImportError, FeedbackStore

    store = FeedbackStore(db)
    try:
        res = store.import_jsonl(src, skip_bad=skip_bad)
    except FeedbackImportError as e:
        raise click.ClickException(str(e)) from None
    for line, message in res["bad"]:
        click.echo(f"skipped line {line}: {message}", err=True)
    click.echo(
        f"imported {res['imported']} correction(s) into {store.path}"
        + (f"; {res['duplicates']} already stored" if res["duplicates"] else "")
        + (f"; {len(res['bad'])} bad line(s) skipped" if res["bad"] else "")
    )


@feedback.command("stats")
@click.option(
    "--db",
    default=None,
    envvar="SLANT_FEEDBACK_DB",
    help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON that GET /feedback/stats answers.")
def feedback_stats(db: str | None, as_json: bool) -> None:
    """Count the stored corrections per task and label."""
    import json

    from slant.feedback.store import FeedbackStore

    stats = FeedbackStore(db).stats()
    if as_json:
        click.echo(json.dumps(stats, indent=1))
        return
    click.echo(
        f"{stats['rows']} correction(s) in {stats['path']} ({stats['annotators']} annotator(s); "
        f"first {stats['first'] or '-'}, last {stats['last'] or '-'})"
    )
    for task, t in stats["tasks"].items():
        labels = ", ".join(f"{k} {v}" for k, v in sorted(t["labels"].items(), key=lambda kv: -kv[1]))
        click.echo(f"  {task:<11} {t['rows']:>6} row(s), {t['paragraphs']:>6} paragraph(s)  {labels}")
