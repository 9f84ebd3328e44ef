"""The STORAGES entry for uploaded files, from the environment: the local MEDIA_ROOT, or an
S3-compatible bucket (AWS, MinIO, Ceph...) when S3_BUCKET is set."""

from __future__ import annotations

from classifier_site.env import envstr

LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def file_storage() -> dict:
    """Keys come from S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, else boto3's usual chain
    (AWS_ACCESS_KEY_ID..., an instance role); the region from S3_REGION or AWS_DEFAULT_REGION."""
    bucket = envstr("S3_BUCKET")
    if not bucket:
        return LOCAL
    from boto3.s3.transfer import TransferConfig

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": envstr("S3_ENDPOINT_URL") or None,
            "region_name": envstr("S3_REGION", envstr("AWS_DEFAULT_REGION")) or None,
            "access_key": envstr("S3_ACCESS_KEY_ID") or None,
            "secret_key": envstr("S3_SECRET_ACCESS_KEY") or None,
            "addressing_style": envstr("S3_ADDRESSING_STYLE") or None,
            # Never overwrite: every clip has its own uuid key anyway.
            "file_overwrite": False,
            "default_acl": None,
            # One thread per transfer: a clip is a few hundred kilobytes, and boto3's pool of ten
            # threads per download took a fifth of a worker's CPU under load (make bench-load).
            "transfer_config": TransferConfig(use_threads=False),
        },
    }
