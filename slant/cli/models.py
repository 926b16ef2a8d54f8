"""`slant models`: the versions in the BentoML model store, and which one is served."""

from __future__ import annotations

import click


@click.group()
def models() -> None:
    """List, promote and roll back model versions in the BentoML model store."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models_list(as_json: bool) -> None:
    """Every `slant` version in the BentoML model store; * marks the promoted (served) one."""
    import json

    from slant import store

    found = store.list_models()
    if as_json:
        click.echo(json.dumps(found, indent=1))
        return
    if not found:
        click.echo(
            f"no slant models in the BentoML store at {store.bentoml_home()}; "
            f"the service serves {store.current_model_dir()}"
        )
        return
    for m in found:
        meta = m["metadata"]
        gate = {True: "gate passed", False: "gate refused"}.get(meta.get("gate_passed"), "")
        note = m.get("error") or ", ".join(
            x for x in (gate, f"from {meta['base_version']}" if meta.get("base_version") else "") if x
        )
        click.echo(f"{'*' if m['current'] else ' '} {m['tag']:<40} {m['created']:<26} {m['size_mb']:>7.1f} MB  {note}")


@models.command("add")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--promote", "do_promote", is_flag=True, help="Also make it the served model.")
def models_add(folder: str, do_promote: bool) -> None:
    """Copy an artifact FOLDER (e.g. models/slant-base) into the store as slant:<its version>."""
    from slant import store
    from slant.artifact import ArtifactError, load

    try:
        version = load(folder).version
        tag = store.save_artifact(folder, version)
        click.echo(f"stored {tag}")
        if do_promote:
            res = store.promote(version)
            click.echo(f"promoted {res['current']} (was {res['previous']})")
    except (store.StoreError, ArtifactError) as e:
        raise click.ClickException(str(e)) from None


@models.command("promote")
@click.argument("version")
def models_promote(version: str) -> None:
    """Serve VERSION (e.g. 0.1.0.ft20250101120000 or slant:...) from now on; running services pick it up."""
    from slant import store

    try:
        res = store.promote(version)
    except store.StoreError as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        f"promoted {res['current']} (was {res['previous']})"
        if res["changed"]
        else f"{res['current']} is already promoted"
    )


@models.command("rollback")
def models_rollback() -> None:
    """Serve the previously promoted version again."""
    from slant import store

    try:
        res = store.rollback()
    except store.StoreError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"rolled back to {res['current']} (was {res['previous']})")
