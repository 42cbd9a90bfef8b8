"""French texts for the parts of the command line that Typer writes itself (help option, panels, errors).

Typer (with its vendored Click) writes these in English and ships no French catalogue; the CLI calls
:func:`install` once, before it runs, so that every text a user reads is French.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import typer.completion
import typer.core
import typer.rich_utils
from typer import _click

HELP_TEXT = "Affiche cette aide et quitte."
_TYPER_CONSTANTS = {
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Interrompu.",
    "DEFAULT_STRING": "[défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "DEPRECATED_STRING": "(obsolète) ",
    "RICH_HELP": "Essayez [blue]« {command_path} {help_option} »[/] pour l'aide.",
}
_COMPLETION_HELP = {
    "install_completion": "Installe l'autocomplétion pour le shell courant.",
    "show_completion": "Affiche le script d'autocomplétion du shell courant, à copier ou adapter.",
}
# Click's error messages (English f-strings in Typer's vendored Click) → French, first match wins.
ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"^Missing command\.$", "Commande manquante (voir --help)."),
        (r"^No such command (.+)\.$", r"Commande inconnue : \1."),
        (r"^No such option: (\S+)", r"Option inconnue : \1"),
        (r"\(Possible options: (.+)\)", r"(options possibles : \1)"),
        (r"Did you mean (.+)\?", r"Vouliez-vous dire \1 ?"),
        (r"^Missing argument (.+)\.$", r"Argument manquant : \1."),
        (r"^Missing option (.+)\.$", r"Option manquante : \1."),
        (r"^Missing parameter: (.+)", r"Paramètre manquant : \1"),
        (r"^Invalid value for (.+?): ", r"Valeur non valide pour \1 : "),
        (r"^Invalid value: ", "Valeur non valide : "),
        (r"^Got unexpected extra arguments? \((.+)\)", r"Argument(s) en trop : \1"),
        (r"^Option (.+) requires an argument\.$", r"L'option \1 demande une valeur."),
        (r"^Option (.+) does not take a value\.$", r"L'option \1 ne prend pas de valeur."),
        (r"(.+) is not a valid (integer|float)\.", r"\1 n'est pas un nombre valide."),
        (r"(.+) is not in the range (.+)\.", r"\1 n'est pas dans l'intervalle \2."),
        (r"(File|Directory|Path) (.+) does not exist\.", r"\1 \2 introuvable."),
        (r"is not one of", "ne fait pas partie de"),
    )
)


def french_error(message: str) -> str:
    """Click's English error message in French (unchanged when not recognised).

    Examples
    --------
    >>> french_error("Missing argument 'BEFORE'.")
    "Argument manquant : 'BEFORE'."
    >>> french_error("No such option: --nope (Possible options: --store)")
    'Option inconnue : --nope (options possibles : --store)'
    """
    for pattern, french in ERRORS:
        message = pattern.sub(french, message)
    return message


def install() -> None:
    """Make Typer's own texts French: help option, panel titles, completion options, error messages."""
    for name, text in _TYPER_CONSTANTS.items():
        setattr(typer.rich_utils, name, text)
    placeholder = typer.completion._install_completion_placeholder_function
    for name, param in inspect.signature(placeholder).parameters.items():
        default: Any = param.default
        if name in _COMPLETION_HELP:
            default.help = _COMPLETION_HELP[name]
    if getattr(_click.core.Command.get_help_option, "_french", False):
        return
    original_help = _click.core.Command.get_help_option
    original_usage = _click.core.Command.get_usage
    original_error = typer.rich_utils.rich_format_error

    def get_usage(self: Any, ctx: Any) -> str:
        return str(original_usage(self, ctx)).replace("Usage:", "Utilisation :", 1)

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = original_help(self, ctx)
        if option is not None:
            option.help = HELP_TEXT
        return option

    def rich_format_error(self: Any) -> None:
        english = self.format_message
        self.format_message = lambda: french_error(english())
        original_error(self)

    get_help_option._french = True  # type: ignore[attr-defined]
    _click.core.Command.get_help_option = get_help_option  # type: ignore[method-assign]
    _click.core.Command.get_usage = get_usage  # type: ignore[method-assign]
    typer.rich_utils.rich_format_error = rich_format_error
