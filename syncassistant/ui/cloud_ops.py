"""Cloud storage as the settings dialog sees it, without Qt: the form's fields turned into the
engine's checked settings, and adding, joining, listing and changing cloud remotes.

Everything is the engine's (`engine/network/cloud.py`, which the CLI uses too): this module only
maps form fields to its arguments, and its errors (`CloudError.field`) to the form's fields. The
password goes from the form straight to the engine, which keeps it in the keyring only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..engine.network import cloud, remotes

CloudError = cloud.CloudError
TYPES = ("webdav", "s3", "directory", "rsync")  # (the order of the form's choices)
ROLES = tuple(cloud.ROLES)  # transfer (the default for a bridge), backup, archive, full
DEFAULT_COST = int(remotes.NETWORK_COST)

#: the engine's field names -> the form's (where its message is shown)
FORM_FIELD = {"url": "url", "server": "url", "host": "url", "port": "url", "protocol": "url",
              "bucket": "bucket", "region": "region", "directory": "directory",
              "credentials": "password", "name": "name", "role": "role", "numcopies": "numcopies",
              "share": "share", "path": "folder"}


@dataclass
class CloudForm:
    """What the person typed (strings as typed; checked by `checked`)."""

    kind: str
    url: str = ""  # webdav: the folder's URL; s3: the endpoint (empty: Amazon S3); rsync: its URL
    bucket: str = ""
    region: str = ""
    directory: str = ""
    user: str = ""
    password: str = ""
    role: str = "transfer"


def needs_credentials(kind: str) -> bool:
    return kind in cloud.CRED_VARS


def checked(form: CloudForm) -> tuple[cloud.CloudConfig, cloud.Credentials | None]:
    """The engine's settings and credentials for the form; CloudError names the field at fault."""
    kind = form.kind
    url = form.url.strip()
    if kind == "webdav":
        config = cloud.check_config(kind, url=url)
    elif kind == "s3":
        host, port, protocol = _endpoint(url)
        config = cloud.check_config(kind, bucket=form.bucket.strip(), host=host, port=port, protocol=protocol)
        region = form.region.strip()
        if region:
            if not region.replace("-", "").isalnum() or len(region) > 40:
                raise CloudError("region", f"{region!r}: a region is like eu-west-1")
            config.fields["datacenter"] = region
    elif kind == "rsync":
        config = cloud.check_config(kind, rsyncurl=url)
    elif kind == "directory":
        config = cloud.check_config(kind, directory=form.directory.strip())
    else:
        raise CloudError("type", f"unknown cloud type {kind!r}")
    creds = None
    if needs_credentials(kind):
        user = form.user.strip()
        if not user:
            raise CloudError("user", "type the user name (for S3: the access key ID)")
        if not form.password:
            raise CloudError("credentials", "type the password (for S3: the secret access key)")
        creds = cloud.Credentials(user, form.password)
    return config, creds


def _endpoint(text: str) -> tuple[str | None, int | None, str | None]:
    """(host, port, protocol) of an S3 endpoint typed as host, host:port or http(s)://host:port;
    all None for Amazon S3 itself (empty)."""
    if not text:
        return None, None, None
    parts = urlsplit(text if "://" in text else f"//{text}")
    if parts.scheme not in ("", "http", "https") or parts.path not in ("", "/") or parts.query \
            or parts.username or not parts.hostname:
        raise CloudError("url", f"{text!r}: an endpoint is a host, host:port or https://host:port")
    try:
        port = parts.port
    except ValueError:
        raise CloudError("url", f"{text!r}: not a port number") from None
    return parts.hostname, port, parts.scheme or None


def add(root: Path, name: str, form: CloudForm, cost: int | None, mode: str,
        progress: Callable[[str], None]) -> str | None:
    """Add the cloud remote and upload the history. Raises CloudError (nothing is left) when it
    cannot be made; returns a warning when it was made but the first upload failed (the daemon
    tries again), else None."""
    config, creds = checked(form)
    cloud.add_cloud_remote(root, name, config, creds, role=form.role, push=False, progress=progress)
    remotes.set_remote(root, name, cost, mode)
    progress("push")
    try:
        cloud.push_history(root, name)
    except CloudError as e:
        return str(e)
    return None


def share_needs_credentials(text: str) -> bool | None:
    """Whether joining with this share string needs a user name and password (None: it is not
    a share string)."""
    try:
        share = cloud.parse_share(text)
    except CloudError:
        return None
    return needs_credentials(share.config.kind) and share.credentials is None


def join(text: str, folder: str, user: str, password: str, progress: Callable[[str], None]) -> Path:
    """A synced clone at `folder` from a share string; returns its top folder."""
    folder = folder.strip()
    if not folder:
        raise CloudError("path", "choose a folder for the copy (a new or empty one)")
    path = Path(folder).expanduser()
    if not path.is_absolute():
        raise CloudError("path", "use the folder's full path (starting with /)")
    creds = cloud.Credentials(user.strip(), password) if user.strip() and password else None
    return cloud.join(text, path, credentials=creds, progress=progress)


@dataclass
class CloudInfo:
    """The cloud remotes of a folder (name -> CloudRemote) and its numcopies."""

    remotes: dict[str, cloud.CloudRemote]
    numcopies: int


def info(root: Path) -> CloudInfo:
    return CloudInfo({r.name: r for r in cloud.list_cloud_remotes(root)}, cloud.get_numcopies(root))


def set_role(root: Path, name: str, role: str) -> None:
    cloud.set_role(root, name, role)


def set_numcopies(root: Path, n: int) -> None:
    cloud.set_numcopies(root, n)
