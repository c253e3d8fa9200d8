"""The demo offers' images: gradient banners drawn with Pillow, no download.

Each banner is 1280×640 (the 2:1 of a space's ``offer.image_banner`` crop), a
diagonal gradient in the category's colours with the offer's title and its
category's name, so every demo offer has a picture that says what it is.
"""

import io

from PIL import Image, ImageDraw, ImageFont

SIZE = (1280, 640)
MARGIN = 88

#: Category code -> (top-left colour, bottom-right colour).
PALETTES = {
    "cards": ("#0b3d91", "#1b9aaa"),
    "premium-cards": ("#2b2d42", "#b08d57"),
    "travel": ("#00695c", "#4db6ac"),
    "summer": ("#ef6c00", "#ffca28"),
    "insurance": ("#4a148c", "#8e6fd8"),
    "savings": ("#1b5e20", "#8bc34a"),
    "fallback": ("#37474f", "#90a4ae"),
    "welcome": ("#ad1457", "#f06292"),
}
DEFAULT_PALETTE = ("#263238", "#607d8b")


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def _gradient(start: str, end: str) -> Image.Image:
    """A diagonal gradient: a 2×2 image stretched smoothly to the banner."""
    corners = Image.new("RGB", (2, 2))
    a, b = _rgb(start), _rgb(end)
    middle = tuple((x + y) // 2 for x, y in zip(a, b, strict=True))
    corners.putdata([a, middle, middle, b])
    return corners.resize(SIZE, Image.Resampling.BILINEAR)


def _lines(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` pixels, at spaces."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def banner_png(title: str, category: str, palette: tuple[str, str]) -> bytes:
    """A PNG banner with ``title`` over ``category``'s gradient."""
    image = _gradient(*palette)
    overlay = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    width, height = SIZE
    shapes.ellipse((width - 520, -180, width + 180, 520), fill=(255, 255, 255, 38))
    shapes.ellipse(
        (width - 300, height - 260, width + 60, height + 100), fill=(255, 255, 255, 28)
    )
    image = Image.alpha_composite(image.convert("RGBA"), overlay)
    draw = ImageDraw.Draw(image)
    small = ImageFont.load_default(size=34)
    large = ImageFont.load_default(size=92)
    draw.text((MARGIN, MARGIN), category.upper(), font=small, fill="#ffffffd0")
    y = MARGIN + 70
    for line in _lines(draw, title, large, width - 2 * MARGIN - 200)[:3]:
        draw.text((MARGIN, y), line, font=large, fill="#ffffff")
        y += 108
    draw.rounded_rectangle(
        (MARGIN, height - MARGIN - 64, MARGIN + 260, height - MARGIN),
        radius=32,
        fill="#ffffff",
    )
    draw.text(
        (MARGIN + 130, height - MARGIN - 32),
        "Find out more",
        font=small,
        fill=palette[0],
        anchor="mm",
    )
    output = io.BytesIO()
    image.convert("RGB").save(output, format="PNG")
    return output.getvalue()
