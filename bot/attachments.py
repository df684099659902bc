"""Which attachments are images (``model.images.FORMATS``), whether they are small enough, and
a bounded download."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath
from typing import Protocol

import aiohttp

from model.images import FORMAT_NAMES, FORMATS, sniff

CONTENT_TYPES = {f.content_type for f in FORMATS}
SUFFIXES = {suffix for f in FORMATS for suffix in f.suffixes}
NOT_AN_IMAGE = f"that is not a {FORMAT_NAMES} image"
DOWNLOAD_SECONDS = 15.0  # a file that takes longer is given up on


class AttachmentLike(Protocol):
    filename: str
    size: int
    url: str
    content_type: str | None


class AttachmentError(Exception):
    """The attachment cannot be used; the message is fit for the person who posted it."""


def is_image(content_type: str | None, filename: str) -> bool:
    """Judged by what Discord says it is, or by the file name when Discord says nothing."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in CONTENT_TYPES
    return PurePosixPath(filename.lower()).suffix in SUFFIXES


def check_size(size: int, max_bytes: int) -> None:
    if size <= 0:
        raise AttachmentError("that file is empty")
    if size > max_bytes:
        raise AttachmentError(
            f"that image is {size / 2**20:.1f} MB; I read images up to {max_bytes / 2**20:.0f} MB"
        )


async def fetch_image(attachment: AttachmentLike, session: aiohttp.ClientSession,
                      max_bytes: int) -> bytes:  # fmt: skip
    """The bytes of an attachment that says it is an image, is small enough, and whose bytes
    announce a format we read; ``AttachmentError`` otherwise."""
    if not is_image(attachment.content_type, attachment.filename):
        raise AttachmentError(NOT_AN_IMAGE)
    check_size(attachment.size, max_bytes)  # before downloading anything
    data = await download(session, attachment.url, max_bytes)
    if sniff(data) is None:
        raise AttachmentError(f"that file is not a {FORMAT_NAMES} image inside")
    return data


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
