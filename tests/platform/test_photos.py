"""platform/photos.py: real pictures made with Pillow (and pillow-heif), no mocks."""

from __future__ import annotations

import base64
import struct
import zlib
from io import BytesIO
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from baoxue.platform.errors import InvalidInput
from baoxue.platform.files import LocalFileStorage
from baoxue.platform.photos import (
    MB,
    accept_photo,
    accept_signature,
    decode_data_url,
    media_type,
    save_photo,
)

GPS_IFD = 0x8825  # 34853
ORIENTATION = 0x0112


def two_halves(width: int = 60, height: int = 40, mode: str = "RGB") -> Image.Image:
    """Red on the left, blue on the right: where each half ends up shows the rotation."""
    image = Image.new(mode, (width, height), "blue")
    image.paste(Image.new(mode, (width // 2, height), "red"), (0, 0))
    return image


def home_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "Apple"  # Make
    exif[0x010E] = "ZHANGSAN-HOME"  # ImageDescription
    exif[GPS_IFD] = {1: "N", 2: (30.0, 15.0, 12.5), 3: "E", 4: (120.0, 5.0, 1.25)}
    return exif


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


def refusal(data: bytes, filename: str = "", field: str = "photo", **options: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        accept_photo(data, filename, field=field, **options)  # type: ignore[arg-type]
    assert list(caught.value.errors) == [field]
    return caught.value.errors[field]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_a_jpeg_loses_its_exif_and_gps_and_is_turned_upright() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encoded(two_halves(), "JPEG", exif=home_exif(orientation=6).tobytes(), quality=95,
                       icc_profile=srgb, xmp=b"<x>ZHANGSAN-HOME</x>", comment=b"ZHANGSAN-HOME")
    assert opened(original).getexif().get_ifd(GPS_IFD)  # the position really was there

    photo = accept_photo(original, "IMG_0001.JPG")

    assert photo.suffix == ".jpg"
    for data in (photo.data, photo.small):
        image = opened(data)
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {} and not {"icc_profile", "xmp", "comment"} & set(image.info)
        assert b"Exif" not in data and b"ZHANGSAN-HOME" not in data and b"Apple" not in data
    # Orientation 6 (turn 90° clockwise to view): 60×40 stored, 40×60 shown, red half on top.
    assert (photo.width, photo.height) == (40, 60) == opened(photo.data).size
    upright = opened(photo.data).convert("RGB")
    red, blue = upright.getpixel((20, 8)), upright.getpixel((20, 52))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


def test_a_png_stays_png_with_its_transparency_and_without_its_text() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "ZHANGSAN-HOME")
    image = two_halves(mode="RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 16, 16))  # a transparent corner
    original = encoded(image, "PNG", pnginfo=text, exif=home_exif().tobytes())

    photo = accept_photo(original, "screenshot.png")

    assert photo.suffix == ".png"
    kept = opened(photo.data)
    assert kept.format == "PNG" and kept.mode == "RGBA" and kept.getpixel((0, 0))[3] == 0
    assert b"ZHANGSAN-HOME" not in photo.data and b"eXIf" not in photo.data and b"Exif" not in photo.data
    assert dict(kept.getexif()) == {} and "Comment" not in kept.info
    small = opened(photo.small)
    assert small.format == "JPEG" and small.mode == "RGB"
    assert min(small.getpixel((4, 4))) > 230  # the transparent corner laid on white


def test_the_small_copy_fits_800_px_and_a_huge_photo_is_scaled_to_4096() -> None:
    photo = accept_photo(encoded(two_halves(2000, 1000), "JPEG"))
    assert (photo.width, photo.height) == (2000, 1000)
    assert opened(photo.small).size == (800, 400)

    wide = accept_photo(encoded(two_halves(6000, 300), "PNG"))
    assert (wide.width, wide.height) == (4096, 205) == opened(wide.data).size
    assert max(opened(wide.small).size) == 800

    tiny = accept_photo(encoded(two_halves(30, 20), "JPEG"))
    assert opened(tiny.small).size == (30, 20)  # never enlarged


def test_an_iphone_heic_becomes_a_jpeg_without_its_metadata() -> None:
    heif = pillow_heif.from_pillow(two_halves(64, 48))
    out = BytesIO()
    heif.save(out, quality=90, exif=home_exif(orientation=6).tobytes())
    original = out.getvalue()
    assert original[4:12] == b"ftypheic"

    photo = accept_photo(original, "IMG_0002.HEIC")

    assert photo.suffix == ".jpg" and opened(photo.data).format == "JPEG"
    assert (photo.width, photo.height) == (48, 64)  # turned upright, once
    assert b"Exif" not in photo.data and b"ZHANGSAN-HOME" not in photo.data
    assert dict(opened(photo.data).getexif()) == {}


def test_a_pdf_named_jpg_is_refused_by_its_bytes() -> None:
    message = refusal(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "回执.jpg", field="receipt")
    assert message.startswith("不是照片：文件“回执.jpg”的内容是 PDF，")
    assert "JPG 或 PNG" in message

    assert refusal(b"PK\x03\x04" + bytes(100)).startswith("不是照片：文件内容是压缩包或 Word/Excel 文档")
    assert refusal(b"just some text, not a picture").startswith("不是照片：无法识别文件内容")


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF"])
def test_other_image_types_are_refused_naming_what_is_accepted(fmt: str) -> None:
    message = refusal(encoded(two_halves(), fmt), "photo.jpg")
    assert message.startswith("不支持 ") and "JPG 或 PNG" in message
    assert {"WEBP": "WebP"}.get(fmt, fmt) in message


def test_too_large_says_the_limit_in_mb() -> None:
    jpeg = encoded(two_halves(), "JPEG")
    assert "不能超过 20 MB" in refusal(jpeg + bytes(20 * MB))
    assert "不能超过 1 MB" in refusal(jpeg + bytes(MB), max_bytes=MB)
    assert "不能超过 0.5 MB" in refusal(jpeg + bytes(MB), max_bytes=MB // 2)
    assert "空" in refusal(b"")


def test_a_png_claiming_50000_by_50000_is_refused_from_its_header() -> None:
    bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + png_chunk(b"IEND", b""))
    assert len(bomb) < 200
    message = refusal(bomb)
    # Decoding it would have raised Pillow's DecompressionBombError, answered as "损坏".
    assert "50000×50000" in message and "5000 万像素" in message


def test_a_jpeg_whose_frame_header_claims_65000_by_65000_is_refused_from_its_header() -> None:
    jpeg = bytearray(encoded(two_halves(), "JPEG"))
    frame = jpeg.index(b"\xff\xc0")
    jpeg[frame + 5:frame + 9] = struct.pack(">HH", 65000, 65000)
    assert "65000×65000" in refusal(bytes(jpeg))


def test_a_broken_picture_is_refused_as_corrupt() -> None:
    jpeg = encoded(two_halves(400, 300), "JPEG")
    assert "损坏" in refusal(jpeg[: len(jpeg) // 2])
    png = encoded(two_halves(), "PNG")
    assert "损坏" in refusal(png[:40] + bytes(200))
    assert "损坏" in refusal(b"\x89PNG\r\n\x1a\n")


def test_saved_under_the_township_through_the_storage(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    photo = accept_photo(encoded(two_halves(), "PNG"))
    key, small_key = save_photo(storage, 7, photo)
    assert key.startswith("t7/photos/") and key.endswith(".png") and small_key.endswith(".jpg")
    assert storage.read(7, key) == photo.data and storage.read(7, small_key) == photo.small
    assert (media_type(key), media_type(small_key)) == ("image/png", "image/jpeg")


def signature_png(drawn: bool = True) -> bytes:
    canvas = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    if drawn:
        canvas.paste(Image.new("RGBA", (300, 4), (0, 0, 0, 255)), (150, 100))
    text = PngImagePlugin.PngInfo()
    text.add_text("Software", "ZHANGSAN-PHONE")
    return encoded(canvas, "PNG", pnginfo=text)


def test_a_drawn_signature_comes_back_as_a_clean_png() -> None:
    raw = signature_png()
    url = "data:image/png;base64," + base64.b64encode(raw).decode()
    assert decode_data_url(url) == raw
    for given in (raw, url, url.encode()):
        clean = accept_signature(given)
        image = opened(clean)
        assert image.format == "PNG" and image.mode == "RGBA" and image.size == (600, 200)
        assert b"ZHANGSAN-PHONE" not in clean


def test_signatures_that_are_blank_large_or_not_png_are_refused() -> None:
    def refused(data: bytes | str) -> str:
        with pytest.raises(InvalidInput) as caught:
            accept_signature(data, field="guardian_signature")
        return caught.value.errors["guardian_signature"]

    assert "没有签名" in refused(signature_png(drawn=False))
    assert "没有签名" in refused(b"")
    assert "300 KB" in refused(signature_png() + bytes(300 * 1024))
    assert "300 KB" in refused("data:image/png;base64," + "A" * 500_000)
    assert "PNG" in refused(encoded(two_halves(), "JPEG"))
    assert "格式不正确" in refused("data:image/jpeg;base64," + base64.b64encode(b"x").decode())
    assert "格式不正确" in refused("data:image/png;base64,@@@")
    big = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 6, 0, 0, 0))
           + png_chunk(b"IEND", b""))
    assert "20000×20000" in refused(big)
