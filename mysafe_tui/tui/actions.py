"""Every command of the UI, said once: its keys, its words and when it applies.

The bindings of the app, the main screen and every other screen, dialog and widget
(`bindings(on)`; a test refuses a `Binding` written anywhere else), the command palette, the
help page, the footer's enabled state (`check_action`) and the user's keymap all read this
table. A user rebinds a key
in settings.json by the action's id: `"keymap": {"copy.username": "y"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.binding import Binding, BindingType
from textual.keys import format_key

if TYPE_CHECKING:  # the unlock screen's bindings come from here: drawn without the models
    from mysafe_tui.core.models import ItemSummary

Needs = Literal["", "active", "trashed", "file", "api", "local", "remote"]


@dataclass(frozen=True)
class Action:
    id: str  # the binding id, and the name a keymap uses
    keys: str  # default keys in Textual's spelling ("ctrl+l", "slash"); "" for none
    action: str  # what runs ("copy('username')"); "" when someone else binds the key
    title: str  # the footer and the command palette
    help: str  # the help page and the palette's description
    section: str  # the help page's section
    on: str = "main"  # whose keys: "app", "main", or the screen or dialog that asks for them
    footer: bool = False
    priority: bool = False
    palette: bool = True
    needs: Needs = ""  # what the highlighted item must be for the action to apply
    bound: bool = False  # applies only to a vault logged in to a server

    def applies(self, item: ItemSummary | None, bound: bool = True) -> bool:
        if self.bound and not bound:
            return False
        if not self.needs:
            return True
        if item is None:
            return False
        if self.needs == "trashed":
            return not item.active
        if self.needs == "local":  # made before login: not on the server yet
            return item.active and not item.remote
        if self.needs == "remote":  # on the server
            return bool(item.remote)
        kind = {"file": "file", "api": "secretapi"}.get(self.needs)  # ItemKind's values
        return item.active and (kind is None or item.kind == kind)


# Every key is handled in its turn (tui/keyboard.py); a priority binding acts before the
# focused field sees its key: `/` in the list, ctrl+f over the filter box's own ctrl+f.
ACTIONS: tuple[Action, ...] = (
    Action("palette", "ctrl+p", "", "Command palette",
           "jump to an item, run any action", "Anywhere", on="app", palette=False),
    Action("lock", "ctrl+l", "lock", "Lock",
           "lock now (also after idle minutes, see settings)", "Anywhere", on="app",
           footer=True),
    Action("quit", "ctrl+q", "quit", "Quit", "quit (locks and clears the clipboard)",
           "Anywhere", on="app", footer=True, priority=True),
    Action("help", "question_mark", "help", "Help", "all the keys", "Anywhere", on="app",
           footer=True),
    Action("settings", "ctrl+s,f2", "app.settings", "Settings",
           "clipboard, auto-lock, theme, KDF (in a dialog ctrl+s saves)", "Anywhere"),
    Action("rotate_key", "", "app.rotate_key", "Rotate the vault key",
           "new vault and item keys: an old header or passphrase opens nothing new",
           "Anywhere"),
    Action("kind.password", "1", "kind('password')", "Passwords", "show passwords", "Lists"),
    Action("kind.note", "2", "kind('note')", "Notes", "show secure notes", "Lists"),
    Action("kind.file", "3", "kind('file')", "Files", "show files", "Lists"),
    Action("kind.api", "4", "kind('secretapi')", "API secrets", "show API secrets", "Lists"),
    Action("kind.ssh", "5", "kind('sshkey')", "SSH keys", "show SSH keys", "Lists"),
    Action("pam", "7", "pam", "PAM credentials",
           "senhasegura PAM credentials (an A2A authorization: mysafe login URL --a2a)",
           "Lists"),
    Action("kind.trash", "6", "kind('trash')", "Trash", "show the trash (deactivated items)",
           "Lists"),
    Action("filter", "slash", "filter", "Filter", "filter as you type (fuzzy); esc clears",
           "Lists", footer=True, priority=True, palette=False),
    Action("favourites", "asterisk", "favourites", "Favourites only",
           "show favourites only (again: all)", "Lists"),
    # Priority: the filter box has its own ctrl+f (delete a word) and has the focus then.
    Action("search_text", "ctrl+f", "search_text", "Search text",
           "the filter's words inside notes' text (decrypted on request)", "Lists",
           priority=True, palette=False),
    Action("list.up", "up,k", "cursor(-1)", "Up", "move up (k too)", "Lists", on="list",
           palette=False),
    Action("list.down", "down,j", "cursor(1)", "Down", "move down (j too)", "Lists",
           on="list", palette=False),
    Action("list.page_up", "pageup", "page(-1)", "Page up", "a page up", "Lists", on="list",
           palette=False),
    Action("list.page_down", "pagedown", "page(1)", "Page down", "a page down", "Lists",
           on="list", palette=False),
    Action("list.first", "home", "jump(0)", "First", "the first item", "Lists", on="list",
           palette=False),
    Action("list.last", "end", "jump(-1)", "Last", "the last item", "Lists", on="list",
           palette=False),
    Action("list.choose", "enter", "choose", "Open", "", "Lists", on="list", palette=False),
    Action("open", "enter", "open", "Open", "open the item", "Lists", palette=False,
           needs="active"),
    Action("back", "escape", "back", "Back", "close the item, or clear the filter", "Lists",
           palette=False),
    Action("new", "n", "new", "New", "new item of this kind (a file: attach from a path)",
           "Items", footer=True),
    Action("edit", "e", "edit", "Edit", "edit the item", "Items", needs="active"),
    Action("favourite", "f", "favourite", "★ Favourite", "mark or unmark as a favourite",
           "Items", needs="active"),
    Action("deactivate", "d", "deactivate", "Move to the trash",
           "move to the trash (undo: restore)", "Items", needs="active"),
    Action("extras", "m", "extras", "Fields and files",
           "custom fields, more URLs, attachments, old passwords (restore one)", "Items",
           needs="active"),
    Action("versions", "V", "versions", "Earlier versions",
           "what the item held before each save: see one, restore it", "Items",
           needs="active"),
    Action("reveal", "r", "reveal", "Reveal", "reveal or mask secrets", "Items", footer=True,
           needs="active"),
    Action("copy", "c", "copy('primary')", "Copy", "copy the password / secret / note",
           "Items", footer=True, needs="active"),
    Action("copy.username", "u", "copy('username')", "Copy username", "copy the username",
           "Items", needs="active"),
    Action("copy.totp", "t", "copy('totp')", "Copy one-time code", "copy the one-time code",
           "Items", needs="active"),
    Action("copy.env", "x", "copy_env", "Copy as export lines",
           "API secret: copy as export lines", "Items", needs="api"),
    Action("save_file", "o", "save_file", "Save file", "file: save to a path", "Items",
           needs="file"),
    Action("restore", "R", "restore", "Restore", "in the trash: restore", "Items",
           needs="trashed"),
    Action("purge", "P", "purge", "Purge", "in the trash: delete for good", "Items",
           needs="trashed"),
    Action("login", "L", "login", "Log in / out",
           "log in to a MySafe server (or log out)", "Server"),
    Action("sync", "s", "sync", "Sync now", "sync now (also at start; retried while offline)",
           "Server"),
    Action("share", "S", "share", "Share this item",
           "share the item: an expiring, view-limited link", "Server", needs="active"),
    Action("push", "", "push", "Upload to the server",
           "a local-only item: create it on the server, then sync it like the others",
           "Server", needs="local", bound=True),
    Action("people", "W", "people", "People",
           "who else on the server can open the item: share with users and groups",
           "Server", needs="remote", bound=True),
    Action("history", "h", "history", "Access history",
           "who created, read, changed or shared the item (servers that keep it)",
           "Server", needs="remote", bound=True),
    Action("import", "I", "import_items", "Import from another manager",
           "KeePass, Bitwarden, pass or a browser's CSV: a report first, then one go",
           "Lists"),
    Action("export", "", "export_items", "Export for another manager",
           "KeePass (under its own password), Bitwarden JSON or CSV (plain text)", "Lists"),
    Action("shares", "O", "shares", "Share links",
           "your share links: views, expiry; x revokes, c copies again", "Server"),
    Action("health", "H", "health", "Health report",
           "weak, reused, old, breached and insecure passwords, and what to do", "Lists"),
    Action("health.open", "enter", "open", "Go to item", "show the item in its list",
           "Health report", on="health", footer=True, palette=False),
    Action("health.generate", "g", "generate", "New password",
           "edit the login with a freshly generated password (ctrl+s saves it)",
           "Health report", on="health", footer=True, palette=False),
    Action("health.refresh", "r", "refresh", "Check again", "run the checks again",
           "Health report", on="health", footer=True, palette=False),
    Action("health.back", "escape", "app.pop_screen", "Back", "back to the lists",
           "Health report", on="health", footer=True, palette=False),
    # Every other screen's and dialog's keys: `on` names it, `bindings(on)` gives them to it.
    Action("focus.next", "tab", "focus_next", "Next", "next field or button", "Anywhere",
           on="app", priority=True, palette=False),
    Action("focus.previous", "shift+tab", "focus_previous", "Previous",
           "previous field or button", "Anywhere", on="app", priority=True, palette=False),
    Action("form.next", "enter", "next_field", "Next field",
           "in the login and new-vault forms: the next field, then the button", "Forms",
           on="form", priority=True, palette=False),
    Action("shares.back", "escape", "app.pop_screen", "Back", "back to the lists",
           "Share links", on="shares", footer=True, palette=False),
    Action("shares.revoke", "x,delete", "revoke", "Revoke",
           "revoke the link: its content is deleted at once", "Share links", on="shares",
           footer=True, palette=False),
    Action("shares.copy", "c", "copy", "Copy link", "copy the link again", "Share links",
           on="shares", footer=True, palette=False),
    Action("shares.resend", "m", "resend", "Mail again",
           "mail the link's recipient its notice again", "Share links", on="shares",
           footer=True, palette=False),
    Action("shares.refresh", "r", "refresh", "Refresh", "ask the server again",
           "Share links", on="shares", footer=True, palette=False),
    Action("pam.back", "escape", "back", "Back", "give custody back, then the lists",
           "PAM credentials", on="pam", footer=True, palette=False),
    Action("pam.reveal", "enter,r", "reveal", "Reveal",
           "show the password (takes its custody in senhasegura)", "PAM credentials",
           on="pam", footer=True, palette=False),
    Action("pam.copy", "c", "copy", "Copy", "copy the password (takes its custody)",
           "PAM credentials", on="pam", footer=True, palette=False),
    Action("pam.refresh", "ctrl+r", "refresh", "Refresh", "ask senhasegura again",
           "PAM credentials", on="pam", footer=True, palette=False),
    Action("item.save", "ctrl+s", "save", "Save", "save the item", "New / edit dialog",
           on="item", footer=True, palette=False),
    Action("item.cancel", "escape", "cancel", "Cancel",
           "close without saving (asks first if something changed)", "New / edit dialog",
           on="item", footer=True, palette=False),
    Action("item.generate", "ctrl+g", "generate", "Generate",
           "a new password from the generator", "New / edit dialog", on="item",
           footer=True, palette=False),
    Action("item.toggle_mask", "ctrl+r", "toggle_mask", "Show/hide",
           "show or hide the secret fields", "New / edit dialog", on="item", footer=True,
           palette=False),
    Action("confirm.yes", "y", "answer(True)", "Yes", "yes", "Questions", on="confirm",
           footer=True, palette=False),
    Action("confirm.no", "n,escape", "answer(False)", "No",
           "no (Enter is no as well: the safe answer)", "Questions", on="confirm",
           footer=True, palette=False),
    Action("settings.save", "ctrl+s", "save", "Save", "save the settings", "Settings",
           on="settings", footer=True, palette=False),
    Action("settings.cancel", "escape", "dismiss(False)", "Cancel", "close without saving",
           "Settings", on="settings", footer=True, palette=False),
    Action("extras.close", "escape", "close", "Close", "close", "Fields and files",
           on="extras", footer=True, palette=False),
    Action("extras.reveal", "r", "reveal", "Reveal", "reveal or mask hidden fields",
           "Fields and files", on="extras", palette=False),
    Action("extras.copy", "c", "copy", "Copy", "copy the highlighted value",
           "Fields and files", on="extras", palette=False),
    Action("extras.remove", "delete,x", "remove", "Remove", "remove the highlighted row",
           "Fields and files", on="extras", palette=False),
    Action("extras.save", "o", "save", "Save attachment",
           "save the highlighted attachment to a path", "Fields and files", on="extras",
           palette=False),
    Action("share.close", "escape", "close", "Close", "close", "Share dialog", on="share",
           footer=True, palette=False),
    Action("share.create", "ctrl+s", "create", "Create link", "create the link",
           "Share dialog", on="share", palette=False),
    Action("share.copy", "c", "copy", "Copy link", "copy the link made", "Share dialog",
           on="share", palette=False),
    Action("share.qr", "q", "qr", "QR code", "show the link as a QR code", "Share dialog",
           on="share", palette=False),
    Action("people.close", "escape", "dismiss(None)", "Close", "close", "People",
           on="people", footer=True, palette=False),
    Action("people.remove", "delete,x", "remove", "Remove",
           "stop sharing with the highlighted person or group", "People", on="people",
           palette=False),
    Action("conflict.mine", "m", "choose('mine')", "Keep mine",
           "keep your version (the server's is replaced)", "Conflicts", on="conflict",
           footer=True, palette=False),
    Action("conflict.theirs", "t", "choose('theirs')", "Keep theirs",
           "keep the server's version (yours is dropped)", "Conflicts", on="conflict",
           footer=True, palette=False),
    Action("conflict.both", "b", "choose('both')", "Keep both",
           "keep the server's, and yours as a new item", "Conflicts", on="conflict",
           footer=True, palette=False),
    Action("conflict.cancel", "escape", "choose(None)", "Cancel", "decide later",
           "Conflicts", on="conflict", footer=True, palette=False),
    Action("login.cancel", "escape", "cancel", "Cancel", "close without logging in",
           "Other dialogs", on="login", footer=True, palette=False),
    Action("sync.close", "escape", "close", "Close", "close the sync report", "Other dialogs",
           on="sync", footer=True, palette=False),
    Action("history.close", "escape,h", "dismiss(None)", "Close", "close the access history",
           "Other dialogs", on="history", footer=True, palette=False),
    Action("versions.close", "escape", "dismiss(False)", "Close", "close the versions",
           "Other dialogs", on="versions", footer=True, palette=False),
    Action("versions.reveal", "r", "reveal", "Reveal", "show or mask a version's secrets",
           "Other dialogs", on="versions", footer=True, palette=False),
    Action("versions.restore", "R", "restore", "Restore",
           "bring the item back to the highlighted version", "Other dialogs", on="versions",
           footer=True, palette=False),
    Action("import.cancel", "escape", "dismiss(0)", "Cancel", "close the import",
           "Other dialogs", on="import", footer=True, palette=False),
    Action("export.close", "escape", "dismiss(None)", "Close", "close the export",
           "Other dialogs", on="export", footer=True, palette=False),
    Action("files.cancel", "escape", "cancel", "Cancel", "close the file dialog",
           "Other dialogs", on="files", footer=True, palette=False),
    Action("rotate.cancel", "escape", "cancel", "Cancel", "close without rotating",
           "Other dialogs", on="rotate", footer=True, palette=False),
    Action("help.close", "escape,q,question_mark", "dismiss", "Close", "close this page",
           "Other dialogs", on="help", footer=True, palette=False),
)  # fmt: skip


@dataclass(frozen=True)
class FieldKey:
    keys: str  # Textual's spelling, comma-separated
    action: str  # an action of Textual's Input
    help: str
    wins: str = ""  # where another binding takes the same key first


# Line-editing keys of every text field, as in bash's readline and pass's pinentry (the key
# router in tui/keyboard.py applies them to whichever Input has the focus). They come before
# the Input's own bindings and the screen's, after priority bindings. In a hidden field the
# word keys act on the whole line: they would tell where the words of a password end.
FIELD_KEYS: tuple[FieldKey, ...] = (
    FieldKey("ctrl+a,home", "home", "start of the line"),
    FieldKey("ctrl+e,end", "end", "end of the line"),
    FieldKey("ctrl+b", "cursor_left", "back one character"),
    FieldKey("ctrl+f", "cursor_right", "forward one character",
             wins="in the list's filter ctrl+f searches the notes' text"),
    FieldKey("alt+b", "cursor_left_word", "back one word"),
    FieldKey("alt+f", "cursor_right_word", "forward one word"),
    FieldKey("ctrl+k", "delete_right_all", "delete to the end of the line"),
    FieldKey("ctrl+u", "delete_left_all", "delete to the start of the line"),
    FieldKey("ctrl+w", "delete_left_word", "delete the word before the cursor"),
    FieldKey("ctrl+d", "delete_right", "delete the character under the cursor"),
)  # fmt: skip

BY_ID = {action.id: action for action in ACTIONS}
BY_NAME = {action.action.split("(")[0]: action for action in ACTIONS if action.on == "main"}


def bindings(on: str) -> list[BindingType]:
    """The Textual bindings of the app, the main screen, or another screen or dialog (`on`),
    with the table's ids: the user's keymap reaches each by its id."""
    return [
        Binding(a.keys, a.action, a.title, show=a.footer, id=a.id, priority=a.priority)
        for a in ACTIONS
        if a.on == on and a.keys and a.action
    ]


def keys_of(action: Action, keymap: dict[str, str]) -> str:
    """The keys as a person reads them ("ctrl+s / f2", "/"), after the user's keymap."""
    keys = keymap.get(action.id, action.keys)
    return " / ".join(format_key(key.strip()) for key in keys.split(",") if key.strip())


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    return [name for name in keymap if name not in BY_ID or not BY_ID[name].action]
