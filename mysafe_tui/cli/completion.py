"""`mysafe completion bash|zsh|fish`: a completion script written from the parser itself.

The script is static: commands and options are completed by the shell alone, so a tab costs
no Python start and never asks for a passphrase. Item names (after `get`, `copy`, `rm`...)
come from `mysafe __names`, which asks an unlocked agent and prints nothing without one.
"""

from __future__ import annotations

import argparse
import shlex

SHELLS = ("bash", "zsh", "fish")


def _commands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, list[str]]]:
    """name -> (help, its long options), aliases included, from the parser's sub-commands."""
    found: dict[str, tuple[str, list[str]]] = {}
    for action in parser._actions:  # argparse keeps sub-commands here; no public accessor
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                options = [
                    option
                    for sub_action in sub._actions
                    if sub_action.help != argparse.SUPPRESS
                    for option in sub_action.option_strings
                    if option.startswith("--")
                ]
                found[name] = (helps.get(name, ""), options)
    return found


def _takes_item(parser: argparse.ArgumentParser) -> list[str]:
    """The commands whose first argument is an item name."""
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
        if any(a.dest == "name" and not a.option_strings for a in sub._actions)
    ]


def _globals(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings if o.startswith("--")]


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    names = " ".join(commands)
    if shell in ("bash", "zsh"):
        cases = "\n".join(
            f"        {name}) opts={shlex.quote(' '.join(options))} ;;"
            for name, (_, options) in commands.items()
        )
        first = shlex.quote(names + " " + " ".join(_globals(parser)))
        items = "|".join(_takes_item(parser))
        body = f"""# mysafe {shell} completion: commands, their options, item names from an unlocked
# agent (mysafe unlock), file names otherwise
_mysafe() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} opts="" name
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W {first} -- "$cur"))
        return
    fi
    case "${{COMP_WORDS[1]}}" in
{cases}
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [ "$COMP_CWORD" -eq 2 ]; then
        case "${{COMP_WORDS[1]}}" in
        {items})
            COMPREPLY=()
            while IFS= read -r name; do
                [[ $name == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$name")")
            done < <(mysafe __names 2>/dev/null)
            ;;
        esac
    fi
}}
complete -o default -F _mysafe mysafe
"""
        if shell == "zsh":
            return "autoload -U +X bashcompinit && bashcompinit\n" + body
        return body
    lines = ["# mysafe fish completion: commands and their options (file names otherwise)"]
    for name, (help_text, options) in commands.items():
        lines.append(
            f"complete -c mysafe -f -n __fish_use_subcommand -a {shlex.quote(name)}"
            f" -d {shlex.quote(help_text[:60])}"
        )
        for option in options:
            lines.append(
                f"complete -c mysafe -n {shlex.quote('__fish_seen_subcommand_from ' + name)}"
                f" -l {option[2:]}"
            )
    lines.append(
        "complete -c mysafe -f -n "
        + shlex.quote("__fish_seen_subcommand_from " + " ".join(_takes_item(parser)))
        + " -a '(mysafe __names 2>/dev/null)'"
    )
    return "\n".join(lines) + "\n"
