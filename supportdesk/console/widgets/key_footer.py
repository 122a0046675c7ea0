"""A Footer that shows as many key bindings as fit, whole, in binding order.

Textual's Footer clips the last key mid-word on a narrow terminal; this one drops the keys
that do not fit instead (help, `?`, and quit, ctrl+q, always stay), and lays out again when
resized, so an 80-column console shows the essentials and a 160-column one shows everything.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup  # noqa: PLC2701 - textual's footer parts, subclassed

ALWAYS = frozenset({"help", "quit"})  # `?` and ctrl+q are shown at every width
PALETTE_WIDTH = 14


class KeyFooter(Footer):
    """The Footer, fitted to its width without cutting a key's description."""

    DEFAULT_CSS = """
    KeyFooter.-compact FooterLabel { margin: 0 1 0 0; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._laid_out_width = 0
        self._shown: tuple[object, ...] | None = None  # what the last layout showed
        self._laying_out = 0  # layouts under way (their keys shown once they are mounted)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_width:
            self.call_after_refresh(self._lay_out)

    def bindings_changed(self, screen: Screen) -> None:
        """Lay out again only when the keys to show changed. The screen announces its
        bindings after every focus move, key and worker result; laying the footer out again
        each time (a dozen widgets) was most of the console's CPU per key."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._keys_shown() != self._shown:
            await self._lay_out()

    async def _lay_out(self) -> None:
        self._laying_out += 1
        try:
            await self.recompose()
        finally:
            self._laying_out -= 1

    def shows_current_keys(self) -> bool:
        """Whether the keys on screen are the screen's keys as they are now (laid out and
        mounted): what a picture of the screen waits for."""
        return self.is_mounted and not self._laying_out and self._shown == self._keys_shown()

    def _keys_shown(self) -> tuple[object, ...]:
        """Everything a layout depends on: the width and each active binding as shown."""
        width = self.size.width or self.app.size.width
        keys = tuple(
            (
                b.key,
                b.action,
                b.description,
                b.show,
                None if b.group is None else (b.group.description, b.group.compact),
                enabled,
                tooltip,
            )
            for _node, b, enabled, tooltip in self.screen.active_bindings.values()
        )
        return (width, self.compact, self.show_command_palette, keys)

    def compose(self) -> ComposeResult:
        """The keys that fit. Each key's `compact` is set, not data-bound as in Textual's
        Footer: a data binding is a watcher kept on this footer for good, one per key per
        layout, and this footer lays out again on every resize and every screen resume."""
        if not self._bindings_ready:
            return
        self._shown = self._keys_shown()
        width = self.size.width or self.app.size.width
        self._laid_out_width = width
        active = self.screen.active_bindings
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        items: list[tuple[Binding.Group | None, list[list[tuple[Binding, bool, str]]]]] = []
        for group, run in groupby(by_action.values(), lambda m: m[0][0].group):
            members = list(run)
            if group is not None and len(members) > 1:
                items.append((group, members))  # one unit: "1234 View"
            else:
                items.extend((None, [m]) for m in members)
        budget = width - PALETTE_WIDTH
        widths = [self._width(group, members) for group, members in items]
        budget -= sum(
            w for (_, members), w in zip(items, widths, strict=True) if self._always(members)
        )
        keep: list[bool] = []
        for (_group, members), w in zip(items, widths, strict=True):
            if self._always(members):
                keep.append(True)
            elif w <= budget:
                keep.append(True)
                budget -= w
            else:
                keep.append(False)
        for (group, members), shown in zip(items, keep, strict=True):
            if not shown:
                continue
            if group is not None and len(members) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for multi in members:
                        binding, enabled, tooltip = multi[0]
                        key = FooterKey(
                            binding.key,
                            self.app.get_key_display(binding),
                            "",
                            binding.action,
                            disabled=not enabled,
                            tooltip=tooltip or binding.description,
                            classes="-grouped",
                        )
                        key.set_reactive(FooterKey.compact, self.compact)
                        key.set_class(self.compact, "-compact")
                        yield key
                yield FooterLabel(group.description)
            else:
                for multi in members:
                    binding, enabled, tooltip = multi[0]
                    key = FooterKey(
                        binding.key,
                        self.app.get_key_display(binding),
                        binding.description,
                        binding.action,
                        disabled=not enabled,
                        tooltip=tooltip,
                    )
                    key.set_reactive(FooterKey.compact, self.compact)
                    key.set_class(self.compact, "-compact")
                    yield key
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _node, binding, enabled, _tooltip = palette
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )

    @staticmethod
    def _always(members: list[list[tuple[Binding, bool, str]]]) -> bool:
        return any(m[0][0].action in ALWAYS for m in members)

    def _width(
        self, group: Binding.Group | None, members: list[list[tuple[Binding, bool, str]]]
    ) -> int:
        if group is not None and len(members) > 1:
            keys = sum(cell_len(self.app.get_key_display(m[0][0])) for m in members)
            return keys + 2 + cell_len(group.description) + 1
        total = 0
        for m in members:
            binding = m[0][0]
            total += cell_len(self.app.get_key_display(binding)) + 1
            total += cell_len(binding.description) + 1
        return total
