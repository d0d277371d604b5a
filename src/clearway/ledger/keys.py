"""The node's ledger keys: the log's Ed25519 signing key and the secret
that derives salts and declaration references. Kept in one file readable
by the owner only; created on first use, by default in a key folder outside
any working tree (a key created in the folder of a checkout ends up
committed sooner or later)."""

from __future__ import annotations

import base64
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from clearway.errors import ConfigurationError
from clearway.ledger.note import COSIGNATURE_V1, ED25519, NoteError, NoteSigner
from clearway.settings import Settings

__all__ = [
    "LedgerKeys",
    "check_private",
    "create_private",
    "default_key_dir",
    "key_file",
    "keys_for",
    "load_or_create_keys",
    "load_or_create_witness_key",
    "witness_key_for",
]


@dataclass(frozen=True, slots=True)
class LedgerKeys:
    """Picklable (plain text and bytes), so worker processes can sign too."""

    skey: str
    secret: bytes

    @property
    def signer(self) -> NoteSigner:
        return NoteSigner.from_skey(self.skey)

    @property
    def origin(self) -> str:
        return self.skey.split("+")[2]


def _skey(signer: NoteSigner, seed: bytes) -> str:
    material = base64.b64encode(bytes([ED25519]) + seed).decode()
    return f"PRIVATE+KEY+{signer.name}+{signer.verifier.key_id.hex()}+{material}"


def default_key_dir() -> Path:
    """Where keys live unless settings say otherwise: the user's data folder
    (XDG), never the current directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clearway" / "keys"


def key_file(settings: Settings, kind: str) -> Path:
    """The file of key ``kind`` (ledger, witness, secrets): the setting that
    names it, else ``<kind>-<origin>.key`` in the key folder (one file per
    log origin, so two nodes on one machine keep their own)."""
    named: str | None = getattr(settings, f"{kind}_key_file", None)
    if named:
        return Path(named)
    folder = Path(settings.key_dir) if settings.key_dir else default_key_dir()
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", settings.ledger_origin)
    return folder / f"{kind}-{slug}.key"


def check_private(path: Path) -> None:
    """Refuse a key file that others than its owner can read or write: a
    leaked signing key lets anyone extend the log in this node's name."""
    if os.name != "posix":  # pragma: no cover - modes mean nothing there
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"{path}: key file has mode {mode:04o}, so other users can read it; "
            f"run `chmod 600 {path}` (and replace the key if it may have leaked)"
        )


def create_private(path: Path, text: str) -> None:
    """Write a new key file, mode 0600, in a folder made mode 0700."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(text)


def load_or_create_keys(path: Path, origin: str) -> LedgerKeys:
    """Read the key file, or create it (mode 0600) for log ``origin``."""
    if path.exists():
        check_private(path)
        lines = path.read_text().splitlines()
        if len(lines) != 2 or not lines[1].startswith("SECRET+"):
            raise ConfigurationError(
                f"{path}: a ledger key file has two lines, PRIVATE+KEY+... and SECRET+..."
            )
        try:
            keys = LedgerKeys(lines[0], base64.b64decode(lines[1][len("SECRET+") :]))
            keys.signer  # noqa: B018 - parse now, fail here
        except (NoteError, ValueError) as exc:
            raise ConfigurationError(f"{path}: {exc}") from None
        if keys.origin != origin:
            raise ConfigurationError(
                f"{path} signs log {keys.origin!r}, but the ledger origin setting is {origin!r}"
            )
        return keys
    seed = secrets.token_bytes(32)
    keys = LedgerKeys(_skey(NoteSigner.from_seed(origin, seed), seed), secrets.token_bytes(32))
    create_private(path, f"{keys.skey}\nSECRET+{base64.b64encode(keys.secret).decode()}\n")
    return keys


def keys_for(settings: Settings) -> LedgerKeys:
    """This node's ledger keys, as the settings name them (created on first use)."""
    return load_or_create_keys(key_file(settings, "ledger"), settings.ledger_origin)


def witness_key_for(settings: Settings) -> NoteSigner:
    """This node's cosigning key as a witness of other logs (created on first use)."""
    name = settings.witness_name or f"{settings.ledger_origin}/witness"
    return load_or_create_witness_key(key_file(settings, "witness"), name)


def load_or_create_witness_key(path: Path, name: str) -> NoteSigner:
    """A witness's cosigning key (type 0x04), kept in ``path`` (mode 0600)."""
    if path.exists():
        check_private(path)
        signer = NoteSigner.from_skey(path.read_text().strip())
        if signer.name != name or signer.kind != COSIGNATURE_V1:
            raise NoteError(f"{path} is not the cosigning key of {name!r}")
        return signer
    seed = secrets.token_bytes(32)
    signer = NoteSigner.from_seed(name, seed, COSIGNATURE_V1)
    material = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
    create_private(path, f"PRIVATE+KEY+{name}+{signer.verifier.key_id.hex()}+{material}\n")
    return signer
