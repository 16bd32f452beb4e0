"""The command line: a thin layer over the library functions.

Each command parses options, calls the plain Python function of the same name
(``archiver.package.package`` and so on), and prints the returned Outcome as
text or ``--json``.  No command prints a traceback: unexpected errors become a
one-line message and exit 1 (set ARCHIVER_DEBUG=1 to see the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from importlib import import_module

import click

from . import __version__
from .outcome import EXIT_FAILED, EXIT_USAGE, Outcome, UsageError


def _emit(outcome: Outcome, as_json: bool, quiet: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(outcome.to_json(), ensure_ascii=False, indent=2, sort_keys=True))
        # Warnings and errors still reach stderr, so a pipe of the JSON keeps them visible.
        for stream, text in outcome.lines():
            if stream == "err":
                click.echo(text, err=True)
    else:
        last_out = None
        for stream, text in outcome.lines():
            if stream == "err":
                click.echo(text, err=True)
            elif not quiet:
                click.echo(text)
            else:
                last_out = text
        # --quiet keeps warnings, errors and the closing summary (every command ends with one).
        if quiet and last_out is not None:
            click.echo(last_out)
    sys.exit(outcome.exit_code)


def _call(module: str, function: str, *args, **kwargs):
    """Import lazily (fast start-up) and call a library command."""
    try:
        fn = getattr(import_module(f"archiver.{module}"), function)
    except (ImportError, AttributeError) as e:  # pragma: no cover - only while a module is missing
        raise click.ClickException(f"{module}.{function} is not available: {e}") from None
    try:
        return fn(*args, **kwargs)
    except UsageError as e:
        click.echo(f"archiver: usage error: {e}", err=True)
        sys.exit(EXIT_USAGE)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parallel workers (default: the CPUs this process may use).")


class SuggestingGroup(click.Group):
    """A group that answers a mistyped command with the closest real ones."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=SuggestingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="archiver")
@click.option("--quiet", "-q", is_flag=True, help="Print only warnings, errors and the summary.")
@click.option("--verbose", "-v", is_flag=True, help="Print more detail.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """archiver: package scraped texts into BagIt bags with METS/MODS/PREMIS, validate bags, hand them to libraries."""
    ctx.ensure_object(dict)
    ctx.obj.update(quiet=quiet, verbose=verbose)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--out", default=None, type=click.Path(file_okay=False, path_type=str), help="Where finished bags go (default: bags/, or 'bags' in archiver.toml).")
@jobs_option
@click.option("--split", is_flag=True, help="Package each item of a listing page as its own bag.")
@json_option
@click.pass_context
def package(ctx, paths, out, jobs, split, as_json):
    """Package texts (default: incoming/) into bags (default: bags/)."""
    # No PATHS / no --out: package() takes incoming/ and bags/ from archiver.toml, else those defaults.
    _emit(_call("package", "package", list(paths) or None, out=out, jobs=jobs, split=split), as_json, ctx.obj["quiet"])


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--fast", is_flag=True, help="Check Payload-Oxum and completeness only, no fixity.")
@click.option("--schemas", "schemas", type=click.Path(path_type=str), default=None, envvar="ARCHIVER_XSD_DIR",
              help="Folder with the official METS/MODS/PREMIS schemas (e.g. ../shared/xsd). Env: ARCHIVER_XSD_DIR.")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=str), default=None, help="A local BagIt profile (JSON) to check against.")
@jobs_option
@json_option
@click.pass_context
def validate(ctx, paths, fast, schemas, profile, jobs, as_json):
    """Validate bags, or folders of bags (default: bags/)."""
    _emit(_call("validate", "validate", list(paths) or ["bags"], fast=fast, schemas=schemas, profile=profile, jobs=jobs), as_json, ctx.obj["quiet"])


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--split", is_flag=True, help="For a listing page, one record per item.")
@click.option("--write-sidecar", is_flag=True, help="Write a draft NAME.meta.json for review (never overwrites).")
@json_option
@click.pass_context
def inspect(ctx, file, split, write_sidecar, as_json):
    """Show what the text itself says about its provenance."""
    _emit(_call("extract", "inspect", file, split=split, write_sidecar=write_sidecar), as_json, ctx.obj["quiet"])


@cli.command()
@click.argument("bags", nargs=-1, type=click.Path(path_type=str))
@click.option("--to", "to", required=True, type=click.Path(file_okay=False, path_type=str), help="Delivery folder to write.")
@click.option("--format", "fmt", type=click.Choice(["tar", "tar.gz", "zip"]), default="tar", show_default=True)
@click.option("--profile", type=click.Path(dir_okay=False, path_type=str), default=None, help="A library's BagIt profile every bag must meet.")
@jobs_option
@json_option
@click.pass_context
def export(ctx, bags, to, fmt, profile, jobs, as_json):
    """Serialize valid bags into a delivery folder with a delivery manifest."""
    _emit(_call("deliver", "export", list(bags) or ["bags"], to=to, format=fmt, profile=profile, jobs=jobs), as_json, ctx.obj["quiet"])


@cli.command()
@click.argument("delivery", type=click.Path(path_type=str))
@click.option("--into", type=click.Path(file_okay=False, path_type=str), default=None, help="Unpack valid bags here (default: validate only).")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=str), default=None, help="A BagIt profile every received bag must meet.")
@click.option("--receipt-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where the receipt goes (default: the target when bags were unpacked; beside the delivery without --into; "
                   "none after a failed --into).")
@jobs_option
@json_option
@click.pass_context
def receive(ctx, delivery, into, profile, receipt_dir, jobs, as_json):
    """Check a delivery (folder or single archive) and write a receipt."""
    _emit(_call("deliver", "receive", delivery, into=into, profile=profile, receipt_dir=receipt_dir, jobs=jobs), as_json, ctx.obj["quiet"])


# --- the collection: catalog, audit, report -----------------------------------

bags_option = click.option("--bags", type=click.Path(file_okay=False, path_type=str), default=None,
                           help="The folder of bags (default: bags/, or `bags` in archiver.toml).")
catalog_option = click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False, path_type=str), default=None,
                              envvar="ARCHIVER_CATALOG", help="The catalog file (default: BAGS/.archiver-catalog.sqlite). Env: ARCHIVER_CATALOG.")


@cli.group(cls=SuggestingGroup)
def catalog():
    """The SQLite catalog of the bags (rebuildable from them at any time)."""


@catalog.command("rebuild")
@bags_option
@catalog_option
@json_option
@click.pass_context
def catalog_rebuild(ctx, bags, catalog_path, as_json):
    """Re-read every bag into the catalog; recorded history is kept."""
    _emit(_call("catalog", "rebuild", bags, catalog_path), as_json, ctx.obj["quiet"])


@cli.command("list")
@bags_option
@catalog_option
@click.option("--outlet", help="Outlet name or domain contains this (case- and accent-insensitive).")
@click.option("--language", help="BCP 47 language, e.g. en (matches en-GB too).")
@click.option("--translated", is_flag=True, help="Only translations (human or machine).")
@click.option("--published", help="Publication dates overlapping an EDTF range: 2022..2023, 2022-05.., ..2023.")
@click.option("--person", help="A person's name or alias contains this (case- and accent-insensitive).")
@click.option("--genre", type=click.Choice(["interview", "article", "news", "listing", "unknown"], case_sensitive=False))
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout.")
@click.pass_context
def list_cmd(ctx, bags, catalog_path, outlet, language, translated, published, person, genre, as_json, as_csv):
    """List the bags, filtered."""
    _emit(_call("catalog", "list_bags", bags, catalog_path, outlet=outlet, language=language, translated=translated,
                published=published, person=person, genre=genre, fmt="csv" if as_csv else "text"), as_json, ctx.obj["quiet"])


@cli.command()
@click.argument("ident", metavar="ID")
@bags_option
@catalog_option
@json_option
@click.pass_context
def show(ctx, ident, bags, catalog_path, as_json):
    """One bag: fields with their origins, files, history, related bags (ID: id, unique id prefix or bag name)."""
    _emit(_call("catalog", "show", ident, bags, catalog_path), as_json, ctx.obj["quiet"])


catalog.add_command(list_cmd)
catalog.add_command(show)


@cli.command()
@bags_option
@catalog_option
@click.option("--older-than", help="Only bags whose last fixity check is older than this (30d, 12h, 2w).")
@jobs_option
@json_option
@click.pass_context
def audit(ctx, bags, catalog_path, older_than, jobs, as_json):
    """Re-check fixity of the bags and record each check (PREMIS fixity check events)."""
    _emit(_call("audit", "audit", bags, catalog_path, older_than=older_than, jobs=jobs), as_json, ctx.obj["quiet"])


@cli.command()
@bags_option
@catalog_option
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None, help="Report folder (default: report/).")
@json_option
@click.pass_context
def report(ctx, bags, catalog_path, out, as_json):
    """Write the HTML finding aid (works offline from the folder)."""
    _emit(_call("report", "report", bags, catalog_path, out=out), as_json, ctx.obj["quiet"])


def main() -> None:
    """Console entry point: never a traceback."""
    try:
        cli.main(prog_name="archiver", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("archiver: aborted", err=True)
        sys.exit(EXIT_FAILED)
    except click.UsageError as e:
        e.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_FAILED)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("archiver: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_FAILED)
    except Exception as e:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("ARCHIVER_DEBUG"):
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        click.echo(f"archiver: error: {msg}", err=True)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
