"""Share posters: a phone-sized PNG per session (and per referrer) with the event's name, time,
venue, from-price in Chinese and English, and a QR code to the buying page carrying the
referrer's code. Rendered on the server with Pillow and the Noto CJK fonts (fonts-noto-cjk).

Why on the server: the poster is what is shared in WeChat Moments, where it must look the same
for everyone; and the QR must point at our page with the referral code, which the server signs
off on. Fonts are loaded once per process: a render is then a few tens of milliseconds.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from box_office.context import Context
from box_office.errors import NotFound

WIDTH, HEIGHT = 750, 1334
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"))
REGULAR = "NotoSansCJK-Regular.ttc"
BOLD = "NotoSansCJK-Bold.ttc"
SHOW_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PosterFacts:
    event_name: str
    session_name: str
    starts_at: float
    venue: str
    from_price_cents: int
    currency: str
    url: str


@lru_cache(maxsize=16)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        path = folder / name
        if path.exists():
            return ImageFont.truetype(str(path), size, index=2)  # index 2: Simplified Chinese face
    raise FileNotFoundError(f"{name}: install fonts-noto-cjk (scripts/bootstrap.sh does)")


def _money(cents: int, currency: str) -> str:
    symbol = "¥" if currency == "CNY" else f"{currency} "
    return f"{symbol}{cents // 100}" + (f".{cents % 100:02d}" if cents % 100 else "")


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break text to fit ``width`` pixels: by character, so Chinese (no spaces) wraps too."""
    lines: list[str] = []
    current = ""
    for char in text:
        if draw.textlength(current + char, font=font) > width and current:
            lines.append(current)
            current = char.lstrip()
        else:
            current += char
    if current:
        lines.append(current)
    return lines[:3]


def _qr(url: str, size: int) -> Image.Image:
    symbol = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = symbol.to_image(scale=1, add_quiet_zones=True)
    columns: int = modules.shape[1]
    rows: int = modules.shape[0]
    image = Image.frombytes("L", (columns, rows), bytes(modules))  # type: ignore[call-overload]
    return image.resize((size, size), Image.Resampling.NEAREST)


def render(facts: PosterFacts) -> bytes:
    """The poster as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (24, 16, 48))
    draw = ImageDraw.Draw(image)
    for y in range(0, 620, 4):  # a simple band of stage light (no event art is stored yet)
        shade = 48 + y // 6
        draw.rectangle((0, y, WIDTH, y + 4), fill=(shade, 24 + y // 12, 96 + y // 8))
    title = _font(BOLD, 56)
    body = _font(REGULAR, 32)
    small = _font(REGULAR, 26)
    y = 90
    for line in _wrap(draw, facts.event_name, title, WIDTH - 100):
        draw.text((50, y), line, font=title, fill=(255, 255, 255))
        y += 76
    draw.text((50, y + 10), facts.session_name, font=body, fill=(230, 220, 255))
    when = dt.datetime.fromtimestamp(facts.starts_at, SHOW_TZ).strftime("%Y-%m-%d %H:%M")
    rows = [
        f"时间 Time  {when}",
        f"场馆 Venue  {facts.venue}",
        f"{_money(facts.from_price_cents, facts.currency)} 起 / from",
    ]
    y = 660
    for text in rows:
        draw.text((50, y), text, font=body, fill=(255, 255, 255))
        y += 56
    qr = _qr(facts.url, 300)
    image.paste(qr, ((WIDTH - 300) // 2, 880))
    caption = "扫码购票 · Scan to buy"
    draw.text(
        ((WIDTH - draw.textlength(caption, font=small)) / 2, 1200), caption, font=small, fill=(230, 220, 255)
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


def poster_for(ctx: Context, session_id: int, referrer_code: str | None) -> bytes:
    """The poster of a session (with the referrer's code in its QR link, when given)."""
    from sqlalchemy import select

    from box_office.promotions.tables import ReferrerRow
    from box_office.store.models import Event, Venue

    with ctx.db.read() as db:
        facts = ctx.catalog.session(db, session_id)
        event = db.get(Event, facts.event_id)
        venue = None if event is None else db.get(Venue, event.venue_id)
        if referrer_code is not None:
            known = db.scalar(
                select(ReferrerRow.id).where(
                    ReferrerRow.code == referrer_code, ReferrerRow.event_id == facts.event_id
                )
            )
            if known is None:
                raise NotFound("no such referrer for this event", "no_referrer")
    prices = [z.price_cents for z in facts.zones.values()] + [
        p for t in facts.types.values() for p in t.prices.values()
    ]
    base = str(ctx.settings.public_url).rstrip("/")
    url = f"{base}/seatmap/{session_id}" + (f"?ref={referrer_code}" if referrer_code else "")
    return render(
        PosterFacts(
            event_name=event.name if event else "",
            session_name=facts.name,
            starts_at=facts.starts_at,
            venue=venue.name if venue else "",
            from_price_cents=min(prices, default=0),
            currency=facts.currency,
            url=url,
        )
    )
