"""Pack a local folder as a .tar.gz code archive, leaving out what its .gitignore files (and .cairnignore) exclude."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Dict, List, Optional

import pathspec

ALWAYS_EXCLUDED = {".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints", ".DS_Store"}
IGNORE_FILES = (".gitignore", ".cairnignore")


def _spec(directory: Path) -> Optional[pathspec.GitIgnoreSpec]:
    lines: List[str] = []
    for name in IGNORE_FILES:
        f = directory / name
        if f.is_file():
            lines += f.read_text(errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def list_files(root: "os.PathLike[str] | str") -> List[str]:
    """The files to pack, as POSIX paths relative to ``root``, sorted. Each .gitignore applies below its folder."""
    base = Path(root).resolve()
    specs: Dict[Path, pathspec.GitIgnoreSpec] = {}
    out: List[str] = []

    def ignored(path: Path, is_dir: bool) -> bool:
        if path.name in ALWAYS_EXCLUDED:
            return True
        for parent in [path.parent, *path.parent.parents]:
            spec = specs.get(parent)
            if spec is not None:
                rel = path.relative_to(parent).as_posix() + ("/" if is_dir else "")
                if spec.match_file(rel):
                    return True
            if parent == base:
                break
        return False

    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath)
        spec = _spec(here)
        if spec is not None:
            specs[here] = spec
        dirnames[:] = sorted(d for d in dirnames if not ignored(here / d, True) and not (here / d).is_symlink())
        for name in sorted(filenames):
            p = here / name
            if p.is_symlink() or not p.is_file() or ignored(p, False):
                continue
            out.append(p.relative_to(base).as_posix())
    return sorted(out)


def pack(root: "os.PathLike[str] | str") -> bytes:
    """The folder as gzip-compressed tar bytes (regular files only, owner-neutral)."""
    base = Path(root).resolve()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel in list_files(base):
            info = tar.gettarinfo(str(base / rel), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(base / rel, "rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()
