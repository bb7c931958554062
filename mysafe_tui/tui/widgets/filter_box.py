"""The filter box: an Input whose typing repaints only itself.

Textual's Input sets its `virtual_size` (the text's width, for scrolling sideways) on every
change, and that reactive asks for a layout of the whole screen: on the main screen, some 30
widgets measured and placed again per keystroke. The box's size never depends on its text, so
here that reactive only repaints.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class FilterBox(Input):
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
