"""The one seam to stored files (clips' audio, model files): the local folder or an S3 bucket.

Everything else asks this module for bytes, sizes and local copies; nothing else opens a path or
an object key by itself, so web and workers may live on different machines.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage

COPY_CHUNK_BYTES = 1024 * 1024


def files() -> Storage:
    return default_storage


def is_local() -> bool:
    """True when files sit in a folder on this machine (paths work), False for a bucket."""
    try:
        files().path("probe")
    except NotImplementedError:
        return False
    return True


@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A path to a stored file's bytes for code that needs one (decoders, Keras): the file itself
    in the local folder, else a temporary copy, removed afterwards."""
    if is_local():
        path = Path(files().path(name))
        if not path.is_file():
            raise FileNotFoundError(name)
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="stored-", suffix=Path(name).suffix) as copy:
        with files().open(name, "rb") as stored:
            shutil.copyfileobj(stored, copy, COPY_CHUNK_BYTES)
        copy.flush()
        yield Path(copy.name)


def size(name: str) -> int:
    """The stored file's size; FileNotFoundError when it is gone (folder and bucket alike)."""
    if is_local():
        return files().size(name)
    from botocore.exceptions import ClientError

    try:
        return files().size(name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise FileNotFoundError(name) from None
        raise


def read_range(name: str, first: int, last: int) -> bytes:
    """Bytes first..last (inclusive) of a stored file, without fetching the rest of an object."""
    if is_local():
        with files().open(name, "rb") as stored:
            stored.seek(first)
            return stored.read(last - first + 1)
    storage: Any = files()  # django-storages' S3Storage: its boto3 client and bucket
    response = storage.connection.meta.client.get_object(
        Bucket=storage.bucket_name, Key=name, Range=f"bytes={first}-{last}"
    )
    return response["Body"].read()


def open_stored(name: str) -> Any:
    """The whole stored file as a readable file object (for downloads). Not ml.audio.open_stream,
    which decodes a local file as audio blocks."""
    return files().open(name, "rb")


def save(name: str, content: File | bytes) -> str:
    """Store under `name` (the storage may pick a free variant); returns the name it used."""
    if isinstance(content, bytes):
        content = ContentFile(content)
    return files().save(name, content)


def delete(name: str) -> None:
    if name:
        files().delete(name)


def delete_quietly(name: str) -> None:
    """Remove what may be a partly written file; a failure to remove it is only logged."""
    try:
        delete(name)
    except Exception:
        logging.getLogger(__name__).exception("could not remove %s", name)


def exists(name: str) -> bool:
    return bool(name) and files().exists(name)


def check_writable() -> None:
    """Write, read back and delete a small object: raises if the storage cannot keep files."""
    name = save(f"health/probe-{uuid.uuid4().hex}", b"ok")
    try:
        with files().open(name, "rb") as stored:
            if stored.read() != b"ok":
                raise OSError("the storage returned other bytes than were written")
    finally:
        delete(name)


def walk(folder: str) -> Iterator[str]:
    """Every stored file's name under `folder`, in the folder or the bucket alike."""
    storage = files()
    try:
        subfolders, names = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        yield f"{folder}/{name}"
    for subfolder in subfolders:
        yield from walk(f"{folder}/{subfolder}")


def modified_at(name: str):
    return files().get_modified_time(name)
