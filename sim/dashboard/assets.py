"""Solara's front-end files, fetched once from the npm registry for machines without a CDN.

A Solara page loads its JavaScript and CSS (the Vuetify app, RequireJS) from
``/_solara/cdn/<package>@<version>/...``; the Solara server answers from a
cache folder and fills it from a public CDN on first use.  Where that CDN
cannot be reached (an intranet, a meeting-room laptop, CI here) the page stays
blank.  ``python -m sim.dashboard.assets`` fills the cache beforehand from
the npm registry with the ordinary ``npm pack``, for exactly the packages and
versions the installed Solara's page template names.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

_CDN_REFERENCE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")


def required_packages() -> list[str]:
    """``name@version`` of every npm package the Solara page template loads through its CDN proxy."""
    import solara.server

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    return sorted(set(_CDN_REFERENCE.findall(template.read_text(encoding="utf-8"))))


def cache_dir() -> Path:
    """Solara's CDN cache folder (``SOLARA_ASSETS_PROXY_CACHE_DIR`` or its default under ``sys.prefix``)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def missing_packages() -> list[str]:
    """Required packages with no folder in the cache yet."""
    cache = cache_dir()
    return [spec for spec in required_packages() if not (cache / spec / "package.json").exists()]


def fetch(specs: list[str], destination: Path, npm: str = "npm") -> None:
    """``npm pack`` each ``name@version`` and unpack it as ``destination/name@version/``.

    Raises
    ------
    RuntimeError
        If npm is not installed or cannot fetch a package.
    """
    if shutil.which(npm) is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install -y npm)")
    for spec in specs:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or len(tarballs) != 1:
                raise RuntimeError(f"npm pack {spec} failed: {done.stderr.strip() or done.stdout.strip()}")
            target = destination / spec
            partial = destination / f".{spec.replace('/', '_')}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            with tarfile.open(tarballs[0]) as archive:
                members = [m for m in archive.getmembers()
                           if m.name.startswith("package/") and (m.isfile() or m.isdir())]
                for member in members:
                    member.name = member.name.removeprefix("package/")
                archive.extractall(partial, members=[m for m in members if m.name], filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)


def main() -> int:
    """Fill Solara's cache with the front-end packages it lacks; print what was done."""
    missing = missing_packages()
    if not missing:
        print(f"Solara's front-end files are all in {cache_dir()}")
        return 0
    try:
        fetch(missing, cache_dir())
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"fetched {', '.join(missing)} into {cache_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
