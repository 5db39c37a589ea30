"""Text that tries to run code (or call home) in the reader's browser, and a check that HTML
holds nothing active."""

from __future__ import annotations

from html.parser import HTMLParser

HOSTILE = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=\"window.__pwned=2;document.title='pwned'\">",
    "[click](javascript:window.__pwned=3)",
    "[click]( JavaScript:window.__pwned=4)",
    "[click](java&#115;cript:window.__pwned=5)",
    "[click](<javascript:window.__pwned=6>)",
    "[ref][evil]\n\n[evil]: javascript:window.__pwned=7",
    "![window.__pwned](https://example.invalid/track.png)",
    '<a href="javascript:window.__pwned=8">a</a>',
    "<svg onload=window.__pwned=9>",
    '" onmouseover="window.__pwned=10" x="',
]


class _Active(HTMLParser):
    """Collects what in parsed HTML could run code or load something."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "img", "svg", "iframe", "object", "embed", "style"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name in ("href", "src") and not (value or "").startswith(
                ("http://", "https://", "#")
            ):
                self.found.append(f"{tag}[{name}={value}]")


def active_parts(html: str) -> list[str]:
    parser = _Active()
    parser.feed(html)
    return parser.found


def assert_inert(html: str) -> None:
    assert active_parts(html) == [], html
