"""archiver: document provenance and archival packager.

The library mirrors the CLI: each command is a plain function with the same
options, returning an Outcome (see ``archiver.outcome``)::

    from archiver import package, validate
    package(["incoming"], out="bags")
    validate(["bags"]).exit_code
"""

from importlib import import_module

__version__ = "0.1.0"

# command name -> (module, function); imported on first use to keep start-up fast
_COMMANDS = {
    "package": ("package", "package"),
    "validate": ("validate", "validate"),
    "inspect": ("extract", "inspect"),
    "export": ("deliver", "export"),
    "receive": ("deliver", "receive"),
    "rebuild_catalog": ("catalog", "rebuild"),
    "list_bags": ("catalog", "list_bags"),
    "show": ("catalog", "show"),
    "audit": ("audit", "audit"),
    "report": ("report", "report"),
}

__all__ = ["__version__", *_COMMANDS]


def __getattr__(name):
    if name in _COMMANDS:
        module, fn = _COMMANDS[name]
        return getattr(import_module(f"archiver.{module}"), fn)
    raise AttributeError(name)
