"""S3 URIs as both object stores take them: one check, so the local folder store and S3
refuse the same keys."""

from __future__ import annotations

from ..errors import ValidationError
from ..specs._common import S3_URI_PATTERN, check_s3_uri

__all__ = ["split_s3_uri"]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``; a URI mlopskit refuses (see
    :func:`mlopskit.specs._common.check_s3_uri`) is a ValidationError naming ``uri``.

    Example:
        >>> split_s3_uri("s3://bucket/a/b")
        ('bucket', 'a/b')
        >>> split_s3_uri("s3://bucket/a//b")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: uri: 's3://bucket/a//b': empty segment in the key ...
    """
    try:
        check_s3_uri(uri)
    except ValueError as exc:
        raise ValidationError(f"uri: {exc}", field="uri") from None
    match = S3_URI_PATTERN.match(uri)
    assert match is not None  # check_s3_uri matched it
    return match.group(1), (match.group(2) or "").removeprefix("/")
