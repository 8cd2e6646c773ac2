"""Pictures people upload: the one way a photo or a drawn signature enters Baoxue.

Home-visit photos, signed receipts photographed and a guardian's signature drawn on screen all
come through here before `platform/files.py` stores them; routes serve them back only after
their record's `access_*` check, never from a public URL.

`accept_photo` takes JPEG, PNG and an iPhone's HEIC/HEIF (decoded with pillow-heif, stored as
JPEG). What the file *is* comes from its first bytes, never its name. Before any pixel is
decoded it checks the size of the upload, then the width × height written in the header (a
30 KB PNG can claim 50000 × 50000: a decompression bomb). The picture is then decoded, turned
upright by its EXIF orientation, converted to sRGB by its colour profile, and re-encoded from
pixels alone, so no EXIF (the GPS position of a family's home, the phone's serial), XMP, text
chunk or comment survives. A JPEG copy at most 800 px on its long side goes with it for pages
and PDFs. Every refusal is an `InvalidInput({field: "中文原因"})`.

`accept_signature` takes the PNG a canvas draws (or its `data:image/png;base64,...` URL),
small, and gives back a clean PNG.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from PIL import Image, ImageCms, ImageOps

from baoxue.platform.errors import InvalidInput
from baoxue.platform.files import FileStorage

try:  # a dependency (pyproject.toml); without it HEIC is refused with a way out, not a crash
    import pillow_heif
except ImportError:  # pragma: no cover
    pillow_heif = None

MB = 1024 * 1024
MAX_PHOTO_BYTES = 20 * MB  # a phone's largest JPEG or HEIC is well under this
# 50 megapixels: an iPhone's 48 MP "HEIF Max" shot (8064 × 6048) passes; decoding one takes
# ~150 MB. Pillow's own bomb check (MAX_IMAGE_PIXELS, ~89 MP) stays behind ours, untouched.
MAX_PIXELS = 50_000_000
MAX_SIDE = 4096  # the stored copy's long side: a 12 MP phone photo (4032 px) is kept whole
SMALL_SIDE = 800  # the copy for pages and PDFs
JPEG_QUALITY = 85
MAX_SIGNATURE_BYTES = 300 * 1024
MAX_SIGNATURE_PIXELS = 4_000_000  # a phone canvas at 3× device pixels is well under this
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}

ACCEPTED = "请上传 JPG 或 PNG 格式的照片（苹果手机的 HEIC 照片也可以）。"
CORRUPT = "照片已损坏或不完整，无法读取：请重新拍摄，或在手机上重新导出后上传。"
HEIC_UNSUPPORTED = ("暂不支持苹果手机的 HEIC 格式照片：请在手机“设置 › 相机 › 格式”中选择“兼容性最佳”后重新拍摄，"
                    "或将照片导出为 JPG 后上传。")

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
                          b"mif1", b"mif2", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_VIDEO_BRANDS = frozenset({b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"M4V ", b"3gp4", b"3gp5"})
# Neither a JPEG, a PNG nor a HEIC: what the user sent, by its first bytes.
_OTHER_IMAGES = ((b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
                 (b"MM\x00*", "TIFF"), (b"\x00\x00\x01\x00", "ICO"), (b"8BPS", "PSD"))
_NOT_IMAGES = ((b"%PDF-", "PDF"), (b"PK\x03\x04", "压缩包或 Word/Excel 文档"),
               (bytes.fromhex("D0CF11E0A1B11AE1"), "Word/Excel 文档"), (b"Rar!", "压缩包"),
               (b"7z\xbc\xaf\x27\x1c", "压缩包"), (b"{\\rtf", "RTF 文档"))


@dataclass(frozen=True)
class AcceptedPhoto:
    data: bytes  # re-encoded JPEG or PNG, metadata stripped, orientation applied
    small: bytes  # JPEG at most SMALL_SIDE px on its long side, for pages and PDFs
    width: int  # of `data`
    height: int
    suffix: str  # ".jpg" or ".png"


def accept_photo(data: bytes, filename: str = "", *, field: str = "photo",
                 max_bytes: int = MAX_PHOTO_BYTES) -> AcceptedPhoto:
    """The upload as a clean picture and its small copy, or `InvalidInput({field: 中文原因})`."""

    def refuse(message: str) -> InvalidInput:
        return InvalidInput({field: message})

    if not data:
        raise refuse("照片是空的：请重新选择要上传的照片。")
    if len(data) > max_bytes:
        raise refuse(f"照片太大：不能超过 {_megabytes(max_bytes)} MB。请在手机上选择较小的照片尺寸，或压缩后再上传。")
    kind = _sniff(data)
    if kind == "HEIF" and pillow_heif is None:  # pragma: no cover
        raise refuse(HEIC_UNSUPPORTED)
    if kind not in ("JPEG", "PNG", "HEIF"):
        raise refuse(_not_accepted(kind, filename))
    size = _header_size(data, kind)
    if size is None:
        raise refuse(CORRUPT)
    if size[0] * size[1] > MAX_PIXELS:
        raise refuse(_too_many_pixels(size, MAX_PIXELS))

    try:
        image = _decode(data, kind)
        decoded_size = image.size
        ImageOps.exif_transpose(image, in_place=True)
        image = _to_srgb(image)
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, Image.DecompressionBombError):
        raise refuse(CORRUPT) from None  # decoders answer a broken file with any of these
    if decoded_size != size:  # the header read above and the decoder disagree: not a sound file
        raise refuse(CORRUPT)

    keep_png = kind == "PNG"
    image = _fit(_plain(image, keep_alpha=keep_png), MAX_SIDE)
    small = _fit(_plain(image, keep_alpha=False), SMALL_SIDE)
    return AcceptedPhoto(
        data=_encode(image, "PNG" if keep_png else "JPEG"),
        small=_encode(small, "JPEG"),
        width=image.width,
        height=image.height,
        suffix=".png" if keep_png else ".jpg",
    )


def save_photo(storage: FileStorage, township_id: int, accepted: AcceptedPhoto,
               kind: str = "photos") -> tuple[str, str]:
    """Store the picture and its small copy under the township: (key, small_key)."""
    key = storage.save(township_id, kind, accepted.data, accepted.suffix)
    small_key = storage.save(township_id, kind, accepted.small, ".jpg")
    return key, small_key


def media_type(key: str) -> str:
    """The Content-Type to serve a stored picture's key with (after the record's access check)."""
    return MEDIA_TYPES[key[key.rfind("."):]]


# --- signatures -------------------------------------------------------------------------------

def decode_data_url(value: str | bytes, *, field: str = "signature",
                    max_bytes: int = MAX_SIGNATURE_BYTES) -> bytes:
    """The PNG inside a canvas's `data:image/png;base64,...` URL."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    # base64 is 4/3 the size: refuse a huge string before decoding it.
    if len(text) > max_bytes * 4 // 3 + 100:
        raise InvalidInput({field: f"签名图片太大：不能超过 {max_bytes // 1024} KB。"})
    found = re.fullmatch(r"\s*data:image/png;base64,([A-Za-z0-9+/=\s]*)", text)
    if found is None:
        raise InvalidInput({field: "签名格式不正确：请重新签名后提交。"})
    try:
        return base64.b64decode(re.sub(r"\s+", "", found.group(1)), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput({field: "签名格式不正确：请重新签名后提交。"}) from None


def accept_signature(data: bytes | str, *, field: str = "signature") -> bytes:
    """A signature drawn on screen, as a clean PNG (transparency kept), or `InvalidInput`."""

    def refuse(message: str) -> InvalidInput:
        return InvalidInput({field: message})

    if isinstance(data, str) or data[:5] == b"data:":
        data = decode_data_url(data, field=field)
    if not data:
        raise refuse("没有签名：请在框内签名后提交。")
    if len(data) > MAX_SIGNATURE_BYTES:
        raise refuse(f"签名图片太大：不能超过 {MAX_SIGNATURE_BYTES // 1024} KB。")
    if _sniff(data) != "PNG":
        raise refuse("签名必须是 PNG 图片：请重新签名后提交。")
    size = _header_size(data, "PNG")
    if size is None:
        raise refuse("签名图片已损坏：请重新签名后提交。")
    if size[0] * size[1] > MAX_SIGNATURE_PIXELS:
        raise refuse(_too_many_pixels(size, MAX_SIGNATURE_PIXELS, "签名图片"))
    try:
        image = _decode(data, "PNG")
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise refuse("签名图片已损坏：请重新签名后提交。") from None
    image = _plain(image, keep_alpha=True)
    if _blank(image):
        raise refuse("没有签名：请在框内签名后提交。")
    return _encode(image, "PNG")


# --- helpers ----------------------------------------------------------------------------------

def _sniff(data: bytes) -> str:
    """What the bytes are: JPEG, PNG, HEIF, another image format's name, a non-image's, or ""."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[4:8] == b"ftyp":  # ISO base media: HEIC, AVIF, or a video
        box = min(int.from_bytes(data[:4], "big"), 64, len(data))
        brands = {data[i:i + 4] for i in range(8, box - 3, 4)} - {b"\x00\x00\x00\x00"}
        if brands & _AVIF_BRANDS:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIF"
        if brands & _VIDEO_BRANDS:
            return "视频"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    for magic, name in _OTHER_IMAGES + _NOT_IMAGES:
        if data.startswith(magic):
            return name
    return ""


def _not_accepted(kind: str, filename: str) -> str:
    if kind in {name for _, name in _OTHER_IMAGES} | {"WebP", "AVIF"}:
        return f"不支持 {kind} 格式的图片：{ACCEPTED}"
    subject = f"文件“{_shown(filename)}”的内容" if _shown(filename) else "文件内容"
    if kind:
        return f"不是照片：{subject}是{' ' if kind[0].isascii() else ''}{kind}，{ACCEPTED}"
    return f"不是照片：无法识别{subject}，{ACCEPTED}"


def _header_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height as the file's header states them, read without decoding; None if unreadable."""
    if kind == "PNG":
        if data[12:16] != b"IHDR" or len(data) < 24:
            return None
        size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif kind == "JPEG":
        size = _jpeg_size(data)
    else:  # HEIF: libheif parses the container only; pixels are decoded on to_pillow()
        try:
            size = pillow_heif.open_heif(BytesIO(data)).size
        except (OSError, ValueError, RuntimeError):
            return None
    return size if size and size[0] > 0 and size[1] > 0 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """From the first frame header (SOFn) in the JPEG's markers."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if at + 9 > len(data):
                return None
            height, width = int.from_bytes(data[at + 5:at + 7], "big"), int.from_bytes(data[at + 7:at + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return None


def _decode(data: bytes, kind: str) -> Image.Image:
    """The pixels, decoded by the one decoder `kind` names (Pillow never guesses the format)."""
    if kind == "HEIF":
        return pillow_heif.open_heif(BytesIO(data)).to_pillow()  # libheif applies the rotation itself
    image = Image.open(BytesIO(data), formats=[kind])
    image.load()
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colours as meant (a phone's Display P3 photo, a CMYK scan) once the profile is dropped."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                         outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as they are


def _plain(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """RGB, L or (with keep_alpha) RGBA/LA; transparency laid on white when it is not kept."""
    if image.mode.startswith("I"):  # 16-bit greyscale: scaled to 8 bits (convert() would clip it white)
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if keep_alpha:
        return image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
    rgba = image.convert("RGBA")
    white = Image.new("RGB", image.size, "white")
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white


def _fit(image: Image.Image, side: int) -> Image.Image:
    """The image, or a copy scaled down to at most `side` px on its long side (never enlarged)."""
    scale = min(1.0, side / max(image.size))
    size = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) if scale < 1 else image


def _encode(image: Image.Image, kind: str) -> bytes:
    """The pixels alone: every info entry (EXIF, XMP, ICC, text, comment, dpi) left behind."""
    image.info = {}
    out = BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"", icc_profile=None)
    else:
        image.save(out, "PNG", optimize=False, exif=b"", icc_profile=None)
    return out.getvalue()


def _blank(image: Image.Image) -> bool:
    """Nothing drawn: fully transparent, or one colour throughout."""
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[1] == 0:
        return True
    extrema: Any = image.getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    return all(low == high for low, high in bands)


def _too_many_pixels(size: tuple[int, int], limit: int, what: str = "照片") -> str:
    return (f"{what}尺寸过大（{size[0]}×{size[1]} 像素）：不能超过 {limit // 10_000} 万像素，"
            "请缩小后再上传。")


def _megabytes(count: int) -> str:
    return f"{count / MB:g}"


def _shown(filename: str) -> str:
    """The file's own name, fit to quote in a message: no folders, nothing invisible, not too long."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"))
    return name[:40] + ("…" if len(name) > 40 else "")


__all__: list[str] = [
    "AcceptedPhoto", "MAX_PHOTO_BYTES", "MAX_SIGNATURE_BYTES", "accept_photo", "accept_signature",
    "decode_data_url", "media_type", "save_photo",
]
