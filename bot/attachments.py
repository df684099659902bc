"""Which attachments are images, whether they are small enough, and a bounded download."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

import aiohttp

IMAGE_CONTENT_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
DOWNLOAD_SECONDS = 15.0  # a file that takes longer is given up on


class AttachmentError(Exception):
    """The attachment cannot be used; the message is fit for the person who posted it."""


def is_image(content_type: str | None, filename: str) -> bool:
    """Judged by what Discord says it is, or by the file name when Discord says nothing."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in IMAGE_CONTENT_TYPES
    return PurePosixPath(filename.lower()).suffix in IMAGE_SUFFIXES


def sniff(data: bytes) -> str | None:
    """The image format the bytes themselves announce (PNG, JPEG, GIF, WebP), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_size(size: int, max_bytes: int) -> None:
    if size <= 0:
        raise AttachmentError("that file is empty")
    if size > max_bytes:
        raise AttachmentError(
            f"that image is {size / 2**20:.1f} MB; I read images up to {max_bytes / 2**20:.0f} MB"
        )


async def download(session: aiohttp.ClientSession, url: str, max_bytes: int) -> bytes:
    """Fetch at most ``max_bytes``; stop reading (and refuse) as soon as a file is larger."""
    try:
        async with asyncio.timeout(DOWNLOAD_SECONDS), session.get(url) as resp:
            if resp.status != 200:
                raise AttachmentError(f"Discord would not give me that file (HTTP {resp.status})")
            if resp.content_length is not None:
                check_size(resp.content_length, max_bytes)
            chunks, total = [], 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    check_size(total, max_bytes)
                chunks.append(chunk)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise AttachmentError("I could not download that file; try again in a moment") from exc
    data = b"".join(chunks)
    check_size(len(data), max_bytes)
    return data
